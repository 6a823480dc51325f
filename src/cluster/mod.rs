//! Talking to the cluster: building the client the way kubectl would, and reading from it:
//! lists, watches and access reviews. Nothing here changes the cluster (see [`crate::execute`]).

pub(crate) mod access;
pub(crate) mod connect;
pub(crate) mod credentials;
pub(crate) mod inventory;
pub(crate) mod read;
pub(crate) mod request_log;
pub(crate) mod retry;
pub(crate) mod watch;

pub(crate) use connect::{ConnectOptions, Connection, Target, connect};
