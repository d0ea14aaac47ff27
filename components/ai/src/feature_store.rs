//! A feature store: an online store in DynamoDB (on-demand, point-in-time
//! recovery, encrypted with the store's own key), an offline store in S3
//! under the same key, and two roles for Kubernetes service accounts: one
//! that reads features, one that writes them.

use std::collections::BTreeMap;

use cairn_aws::dynamodb::{AttributeType, BillingMode};
use cairn_aws::{Key, KeyArgs, KeyAttribute, Role, Table, TableArgs, TableSse};
use cairn_core::{ComponentArgs, DeclareError, InvalidArgs, Scope, Stack, Urn};
use typed_builder::TypedBuilder;

use crate::access::{self, Grant};
use crate::artifact_bucket::{ArtifactBucket, ArtifactBucketArgs, Encryption};
use crate::checks;
use crate::eks_cluster::ClusterInfo;
use crate::tags::{check_cost_tags, cost_tags};

const READ: &[&str] = &["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:DescribeTable"];
const WRITE: &[&str] = &["dynamodb:PutItem", "dynamodb:BatchWriteItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"];

/// Arguments of [`FeatureStore`].
///
/// ```
/// use cairn_ai::FeatureStoreArgs;
/// # let cluster = cairn_ai::ClusterInfo { name: "c".into(), version: "1.31".into(), oidc_provider_arn: "arn".into(), oidc_issuer: "i".into() };
/// let args = FeatureStoreArgs::builder().cluster(cluster).build();
/// assert_eq!(args.entity_key, "entity_id");
/// ```
#[derive(Debug, Clone, TypedBuilder)]
pub struct FeatureStoreArgs {
    /// The cluster whose service accounts read and write features.
    pub cluster: ClusterInfo,
    /// The online table's partition key: the entity a feature row describes.
    #[builder(default = "entity_id".to_owned(), setter(into))]
    pub entity_key: String,
    /// The online table's sort key (event time, so that rows keep their history); none when `None`.
    #[builder(default = Some("event_time".to_owned()))]
    pub event_time_key: Option<String>,
    /// The attribute holding an item's expiry (epoch seconds), after which DynamoDB deletes it.
    #[builder(default = Some("expires_at".to_owned()))]
    pub ttl_attribute: Option<String>,
    /// The Kubernetes namespace of the reader and writer service accounts.
    #[builder(default = "features".to_owned(), setter(into))]
    pub namespace: String,
    /// Extra tags, added to the cost tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        cairn_aws::string_map(tags)
    }))]
    pub tags: BTreeMap<String, String>,
}

/// The online and offline stores and their access roles.
#[derive(Debug, Clone)]
pub struct FeatureStore {
    /// The component's URN.
    pub urn: Urn,
    /// The key both stores are encrypted with.
    pub key: Key,
    /// The online store.
    pub online: Table,
    /// The offline store (`features/`).
    pub offline: ArtifactBucket,
    /// Reads both stores (service account `<name>-reader`).
    pub reader: Role,
    /// Reads and writes both stores (service account `<name>-writer`).
    pub writer: Role,
}

impl ComponentArgs for FeatureStoreArgs {
    type Component = FeatureStore;
    const TYPE: &'static str = "cairn:ai:FeatureStore";

    fn validate(&self, ctx: &Stack) -> Result<(), InvalidArgs> {
        checks::dns_label("namespace", &self.namespace)?;
        if self.entity_key.is_empty() {
            return Err(InvalidArgs::new("entity_key", "is empty", "name the attribute identifying an entity"));
        }
        if self.event_time_key.as_ref() == Some(&self.entity_key) {
            return Err(InvalidArgs::new(
                "event_time_key",
                "is the same attribute as entity_key",
                "use a separate attribute for the event time, or None",
            ));
        }
        check_cost_tags(ctx, &self.tags)
    }

    fn expand(self, scope: &Scope) -> Result<FeatureStore, DeclareError> {
        let tags = cost_tags(scope, &self.tags);
        let key = scope.resource(
            &scope.child_name("key"),
            KeyArgs::builder().description(format!("feature store {}", scope.name())).tags(tags.clone()).build(),
        )?;
        let mut table = TableArgs::builder()
            .hash_key(KeyAttribute::new(self.entity_key, AttributeType::S))
            .billing_mode(BillingMode::PayPerRequest)
            .point_in_time_recovery(true)
            .sse(TableSse::builder().kms_key_arn(key.arn.clone()).build())
            .tags(tags.clone())
            .build();
        table.range_key = self.event_time_key.map(|k| KeyAttribute::new(k, AttributeType::S));
        table.ttl_attribute = self.ttl_attribute;
        let online = scope.resource(&scope.child_name("online"), table)?;
        let offline = scope.component(
            &scope.child_name("offline"),
            ArtifactBucketArgs::builder()
                .encryption(Encryption::Kms(key.arn.clone().into()))
                .tags(self.tags.clone())
                .build(),
        )?;
        let key_arn = key.arn.clone().into();
        let table_grant = |actions: &[&str]| Grant::on(actions, &online.arn, |arn| vec![arn]);

        let mut read = vec![table_grant(READ), access::kms_use(&key_arn, false)];
        read.extend(access::s3_read(&offline.name(), "features/"));
        let reader_sa = scope.child_name("reader");
        let reader = access::irsa_role(scope, "reader", &self.cluster, (&self.namespace, &reader_sa), &read, &tags)?;

        let mut write = vec![table_grant(&[READ, WRITE].concat()), access::kms_use(&key_arn, true)];
        write.extend(access::s3_read_write(&offline.name(), "features/"));
        let writer_sa = scope.child_name("writer");
        let writer = access::irsa_role(scope, "writer", &self.cluster, (&self.namespace, &writer_sa), &write, &tags)?;

        scope.output("online_table", &online.name);
        scope.output("offline_bucket", &offline.bucket.bucket);
        scope.output("reader_role_arn", &reader.arn);
        scope.output("writer_role_arn", &writer.arn);
        Ok(FeatureStore { urn: scope.urn().clone(), key, online, offline, reader, writer })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{cluster, ctx};

    #[test]
    fn an_encrypted_on_demand_table_with_recovery_and_two_roles() {
        let ctx = ctx("dev");
        let fs = ctx.component("features", FeatureStoreArgs::builder().cluster(cluster()).build()).unwrap();
        let d = ctx.finish();
        let table = d.resources.iter().find(|r| r.urn == fs.online.urn).unwrap().inputs.to_json();
        assert_eq!(table["billing_mode"], "PAY_PER_REQUEST");
        assert_eq!(table["point_in_time_recovery"], true);
        assert!(table["sse"]["kms_key_arn"].is_object(), "the store's own key: {table}");
        assert_eq!(table["range_key"]["name"], "event_time");
    }

    #[test]
    fn the_event_time_must_differ_from_the_entity() {
        let args = FeatureStoreArgs::builder().cluster(cluster()).event_time_key(Some("entity_id".into())).build();
        let err = ctx("dev").component("features", args).err().unwrap().to_string();
        assert!(err.contains("`event_time_key`"), "{err}");
    }
}
