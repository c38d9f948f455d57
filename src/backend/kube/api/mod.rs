//! Kubernetes API operations (filled by the API work).
