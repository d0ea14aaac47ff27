//! Test fixtures: a stack context with the cost tags a platform sets.

use cairn_core::{Config, ProjectName, Stack, StackName};

/// A context for stack `stack` of project `ai`, tagged `team = ml-platform`, `cost-center = 4711`.
pub(crate) fn ctx(stack: &str) -> Stack {
    let config = Config::new(format!("Cairn.{stack}.toml"), Default::default())
        .with_tags([("team", "ml-platform"), ("cost-center", "4711")]);
    Stack::new(StackName::new(stack).unwrap(), ProjectName::new("ai").unwrap(), config)
}

/// A cluster as another stack's outputs give it.
pub(crate) fn cluster() -> crate::ClusterInfo {
    crate::ClusterInfo {
        name: "ai-dev".into(),
        version: "1.31".into(),
        oidc_provider_arn: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X".into(),
        oidc_issuer: "oidc.eks.us-east-1.amazonaws.com/id/X".into(),
    }
}
