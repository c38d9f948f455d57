//! Deployable manifests (filled by the render work).
