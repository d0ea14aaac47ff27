//! The `aws:ec2:*` types' EC2 calls, one module per type, and what they
//! share: tags (TagSpecifications on create, CreateTags/DeleteTags after),
//! EC2's "not found" error codes, ARNs and the undoing of half-made creates.

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use cairn_core::{ErrorCode, ProviderError, ReadRequest, Urn};

use crate::Clients;
use crate::sdk::{AwsResultExt, aws_error};

pub(crate) mod eip;
pub(crate) mod internet_gateway;
pub(crate) mod nat_gateway;
pub(crate) mod route;
pub(crate) mod route_table;
pub(crate) mod route_table_association;
pub(crate) mod security_group;
pub(crate) mod security_group_rule;
pub(crate) mod subnet;
pub(crate) mod vpc;

/// True for EC2's "does not exist" error codes: `InvalidVpcID.NotFound`,
/// `InvalidGroup.NotFound`, `InvalidPermission.NotFound`, `NatGatewayNotFound`, ...
fn is_not_found(code: &str) -> bool {
    code.ends_with("NotFound")
}

/// Turns EC2 SDK results into provider results.
pub(crate) trait Ec2ResultExt<T> {
    /// Maps an error like [`crate::sdk::AwsResultExt::aws`], and EC2's many
    /// `*.NotFound` codes to [`ErrorCode::NotFound`] (so `optional` works).
    fn ec2(self, call: &str, target: &str) -> Result<T, ProviderError>;
}

impl<T, E> Ec2ResultExt<T> for Result<T, SdkError<E>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn ec2(self, call: &str, target: &str) -> Result<T, ProviderError> {
        self.map_err(|e| {
            let missing = e.code().is_some_and(is_not_found);
            let mut err = aws_error(call, target, e);
            if missing {
                err.code = ErrorCode::NotFound;
            }
            err
        })
    }
}

/// EC2 tags.
pub(crate) fn ec2_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// The tag that names the stack resource an EC2 resource was made for, set
/// in the create call itself: a create interrupted before its ID was
/// journaled is found again by it (EC2 has no idempotency token for most
/// creates), instead of being made twice.
pub(crate) const URN_TAG: &str = "cairn:urn";

/// The TagSpecifications of a create call (`resource_type` as EC2 spells it,
/// e.g. `vpc`, `natgateway`): the declared tags and [`URN_TAG`].
pub(crate) fn tag_specs(
    resource_type: &str,
    tags: &BTreeMap<String, String>,
    urn: &Urn,
) -> Option<Vec<TagSpecification>> {
    let mut all = ec2_tags(tags);
    all.push(Tag::builder().key(URN_TAG).value(urn.as_str()).build());
    Some(vec![TagSpecification::builder().resource_type(ResourceType::from(resource_type)).set_tags(Some(all)).build()])
}

/// The ID to read: the recorded one, or, for a create interrupted before its
/// ID was journaled, the resource tagged with the request's URN (`None`:
/// the create never happened).
pub(crate) async fn recorded_or_tagged(c: &Clients, req: &ReadRequest) -> Result<Option<String>, ProviderError> {
    if let Some(id) = &req.id {
        return Ok(Some(id.clone()));
    }
    let urn = req.urn.as_str();
    let out = c
        .ec2
        .describe_tags()
        .filters(filter("key", URN_TAG))
        .filters(filter("value", urn))
        .send()
        .await
        .aws("DescribeTags", urn)?;
    let mut ids: Vec<&str> = out.tags().iter().filter_map(|t| t.resource_id()).collect();
    ids.sort_unstable();
    ids.dedup();
    match ids.as_slice() {
        [] => Ok(None),
        [id] => Ok(Some((*id).to_owned())),
        many => Err(ProviderError::internal(format!(
            "{} EC2 resources carry the tag {URN_TAG}={urn}: {}; keep one (import it) and delete the others",
            many.len(),
            many.join(", ")
        ))),
    }
}

/// The tags EC2 reports, sorted, without the `aws:` tags AWS itself manages
/// (a program cannot set those, so they would look like drift) and without [`URN_TAG`].
pub(crate) fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
        .filter(|(k, _)| !k.starts_with("aws:") && k != URN_TAG)
        .collect()
}

/// Applies tag changes to an EC2 resource by ID.
pub(crate) async fn retag(
    c: &Clients,
    id: &str,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Result<(), ProviderError> {
    crate::changes::retag(
        old,
        new,
        |set| async move {
            c.ec2
                .create_tags()
                .resources(id)
                .set_tags(Some(ec2_tags(&set)))
                .send()
                .await
                .ec2("CreateTags", id)
                .map(drop)
        },
        |remove| async move {
            let keys = remove.iter().map(|k| Tag::builder().key(k).build()).collect();
            c.ec2.delete_tags().resources(id).set_tags(Some(keys)).send().await.ec2("DeleteTags", id).map(drop)
        },
    )
    .await
}

/// An EC2 ARN, `arn:aws:ec2:REGION:OWNER:KIND/ID` (EC2 reports ARNs for few types).
pub(crate) fn arn(c: &Clients, owner: Option<&str>, kind: &str, id: &str) -> String {
    format!("arn:aws:ec2:{}:{}:{kind}/{id}", c.region, owner.unwrap_or_default())
}

/// A Describe* filter.
pub(crate) fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// A value EC2 should have returned but did not.
pub(crate) fn missing(call: &str, target: &str, what: &str) -> ProviderError {
    ProviderError::internal(format!("{call} `{target}` returned no {what}"))
}

/// A resource that vanished between two calls.
pub(crate) fn gone(what: &str, id: &str) -> ProviderError {
    ProviderError::new(ErrorCode::NotFound, format!("{what} `{id}` does not exist"))
}

/// Deletes what a failed create made (so that the create can simply be run
/// again) and says so in the error.
pub(crate) async fn undo(
    e: ProviderError,
    what: &str,
    delete: impl Future<Output = Result<(), ProviderError>>,
) -> ProviderError {
    match delete.await {
        Ok(()) => ProviderError { message: format!("{}; the {what} was deleted again", e.message), ..e },
        Err(cleanup) => ProviderError {
            message: format!("{}; deleting the half-created {what} also failed: {}", e.message, cleanup.message),
            ..e
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec2_not_found_codes_are_recognised() {
        for code in
            ["InvalidVpcID.NotFound", "InvalidGroup.NotFound", "InvalidPermission.NotFound", "NatGatewayNotFound"]
        {
            assert!(is_not_found(code), "{code}");
        }
        for code in ["DependencyViolation", "InvalidParameterValue", "Gateway.NotAttached"] {
            assert!(!is_not_found(code), "{code}");
        }
    }

    #[test]
    fn tags_drop_aws_managed_keys_and_specs_are_omitted_when_empty() {
        let tags: BTreeMap<String, String> = [("team".to_owned(), "ml".to_owned())].into();
        let mut live = ec2_tags(&tags);
        live.push(Tag::builder().key("aws:cloudformation:stack-name").value("x").build());
        let urn = Urn::parse("urn:cairn:dev::ai::aws:ec2:Vpc::net").unwrap();
        live.push(Tag::builder().key(URN_TAG).value(urn.as_str()).build());
        assert_eq!(tag_map(&live), tags, "neither AWS's tags nor the URN tag are the program's");
        let specs = tag_specs("natgateway", &tags, &urn).unwrap();
        assert_eq!(specs[0].resource_type().map(|t| t.as_str()), Some("natgateway"));
        let sent: Vec<(&str, &str)> =
            specs[0].tags().iter().map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))).collect();
        assert_eq!(sent, [("team", "ml"), (URN_TAG, urn.as_str())]);
    }
}
