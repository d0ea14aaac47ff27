//! The `aws:iam:*` types' IAM calls: roles, managed policies, inline role
//! policies, role policy attachments, instance profiles and OpenID Connect
//! providers. Shared here: tag conversions and reading policy documents.

use std::collections::BTreeMap;

use aws_sdk_iam::types::Tag;
use cairn_aws::policy::PolicyDocument;
use cairn_core::ProviderError;

pub(crate) mod attachment;
pub(crate) mod instance_profile;
pub(crate) mod oidc;
pub(crate) mod policy;
pub(crate) mod role;
pub(crate) mod role_policy;

pub(crate) use role::iam_tags;

/// IAM tags as a map.
pub(crate) fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect()
}

/// A policy document as IAM returns it (URL-encoded), with the error naming what was read.
pub(crate) fn read_policy(raw: &str, what: &str) -> Result<PolicyDocument, ProviderError> {
    role::decode_policy(raw)
        .map_err(|e| ProviderError::internal(format!("the policy document of {what} could not be read: {e}")))
}
