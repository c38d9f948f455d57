//! Istio semantics: validation of DestinationRules (and, with the model,
//! route selection, the resolved route with its weights and clusters,
//! locality priorities and outlier ejection).
//!
//! The mesh objects these read are stored by the model
//! ([`crate::model::mesh_config`]); mesh/ depends on model/, and model/
//! reaches back only to [`validation`], a leaf that imports neither.

pub mod cluster;
pub mod endpoints;
pub mod lb;
pub mod locality;
pub mod outlier;
pub mod predict;
pub mod proxy;
pub mod proxy_config;
pub mod proxy_dump;
pub mod route;
pub mod route_weights;
pub mod routing;
pub mod validation;
