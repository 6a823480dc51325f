//! Talking to the cluster: building the client the way kubectl would, and reading from it:
//! lists, watches and access reviews. Nothing here changes the cluster (see [`crate::execute`]).

pub mod access;
pub mod connect;
pub mod credentials;
pub mod inventory;
pub mod read;
pub mod request_log;
pub mod retry;
pub mod watch;

pub use connect::{ConnectOptions, Connection, Target, connect};
