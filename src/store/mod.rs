//! Adapters of the core's storage port ([`crate::core::store`]).

pub mod dynamo;

pub use dynamo::DynamoStore;
