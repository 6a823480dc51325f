//! Talking to the cluster: building the client the way kubectl would, and reading from it.

pub mod connect;
pub mod credentials;
pub mod inventory;
pub mod read;
pub mod request_log;
pub mod retry;

pub use connect::{ConnectOptions, Connection, Target, connect};
