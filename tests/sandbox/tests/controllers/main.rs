//! The controllers: Deployment, ReplicaSet, kubelet stand-in, endpoints, garbage collection.

mod deployment;
mod endpoints;
mod gc;
mod kubelet;
mod smoke;
mod support;
