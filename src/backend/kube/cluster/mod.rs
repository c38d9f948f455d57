//! Cluster lifecycle (filled by the cluster work).
