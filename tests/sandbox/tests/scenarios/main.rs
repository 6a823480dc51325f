//! Scenario loading at scale and under load.

mod large;
mod load;
#[path = "../controllers/support.rs"]
mod support;
