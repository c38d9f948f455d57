pub mod mock;
pub mod query;
