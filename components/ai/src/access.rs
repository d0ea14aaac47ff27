//! Least-privilege IAM for components: grants of explicit actions on
//! explicit resources, which may be other resources' outputs, and IAM roles
//! for Kubernetes service accounts (IRSA).
//!
//! A [`Grant`] is one statement whose resources may still be unknown; a
//! role's policy is the grants joined once every resource is known. Actions
//! are always plain, so a plan shows them even before the resources exist.

use std::collections::BTreeMap;

use cairn_aws::iam_extras::RolePolicyArgs;
use cairn_aws::policy::Condition;
use cairn_aws::{PolicyDocument, Principal, Role, RoleArgs, Statement};
use cairn_core::{DeclareError, Input, InvalidArgs, Output, Scope};

use crate::eks_cluster::ClusterInfo;

/// One statement of a policy: explicit actions on resources that may be outputs.
#[derive(Debug, Clone)]
pub struct Grant {
    actions: Vec<String>,
    resources: Output<Vec<String>>,
    condition: Option<Condition>,
}

impl Grant {
    /// `actions` on the ARNs `resources` makes from the known value of `of`.
    pub fn on<T>(actions: &[&str], of: &Output<T>, resources: impl Fn(T) -> Vec<String> + Send + Sync + 'static) -> Self
    where
        T: serde::Serialize + serde::de::DeserializeOwned + 'static,
    {
        Self {
            actions: actions.iter().map(|a| (*a).to_owned()).collect(),
            resources: of.map(resources),
            condition: None,
        }
    }

    /// The same grant, only where `condition` holds.
    pub fn when(mut self, condition: Condition) -> Self {
        self.condition = Some(condition);
        self
    }

    /// `actions` on fixed ARNs.
    pub fn fixed(actions: &[&str], resources: &[&str]) -> Self {
        Self {
            actions: actions.iter().map(|a| (*a).to_owned()).collect(),
            resources: Output::new(resources.iter().map(|r| (*r).to_owned()).collect()),
            condition: None,
        }
    }

    /// The actions granted (all explicit: never `*` or `service:*`).
    pub fn actions(&self) -> &[String] {
        &self.actions
    }
}

/// A location in S3: a bucket and a key prefix ending in `/` (or empty for the whole bucket).
#[derive(Debug, Clone)]
pub struct S3Location {
    /// The bucket's name (or another resource's output).
    pub bucket: Input<String>,
    /// The key prefix.
    pub prefix: String,
    /// The KMS key the objects are encrypted with, if any.
    pub key_arn: Option<Input<String>>,
}

impl S3Location {
    /// Refuses a prefix that would grant more than it names (`raw` also covers `raw-other/`).
    pub fn check(&self, field: &str) -> Result<(), InvalidArgs> {
        if !self.prefix.is_empty() && !self.prefix.ends_with('/') {
            return Err(InvalidArgs::new(
                format!("{field}.prefix"),
                format!("`{}` does not end with `/`, so it would also grant `{}-other/`", self.prefix, self.prefix),
                format!("write `{}/`", self.prefix),
            ));
        }
        Ok(())
    }

    /// Read access to the location's objects (and `kms:Decrypt` on its key).
    pub fn read(&self) -> Vec<Grant> {
        let mut grants = s3_read(&self.bucket, &self.prefix);
        grants.extend(self.key_arn.as_ref().map(|k| kms_use(k, false)));
        grants
    }

    /// Read and write access to the location's objects (and use of its key for both).
    pub fn read_write(&self) -> Vec<Grant> {
        let mut grants = s3_read_write(&self.bucket, &self.prefix);
        grants.extend(self.key_arn.as_ref().map(|k| kms_use(k, true)));
        grants
    }
}

/// Consuming a queue: receive, delete, extend the visibility of its messages, read its attributes.
pub fn sqs_consume(queue_arn: &Output<String>) -> Grant {
    Grant::on(
        &["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
        queue_arn,
        |arn| vec![arn],
    )
}

/// Read access to the objects under `prefix` of the bucket named `bucket` (and listing that prefix).
pub fn s3_read(bucket: &Input<String>, prefix: &str) -> Vec<Grant> {
    s3_grants(bucket, prefix, &["s3:GetObject", "s3:GetObjectVersion"])
}

/// Read and write access to the objects under `prefix` of the bucket named `bucket`.
pub fn s3_read_write(bucket: &Input<String>, prefix: &str) -> Vec<Grant> {
    s3_grants(bucket, prefix, &["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:AbortMultipartUpload"])
}

fn s3_grants(bucket: &Input<String>, prefix: &str, object_actions: &[&str]) -> Vec<Grant> {
    let bucket = bucket.clone().into_output();
    let objects = prefix.to_owned();
    vec![
        Grant::on(object_actions, &bucket, move |b| vec![format!("arn:aws:s3:::{b}/{objects}*")]),
        // Listing is granted on the bucket, narrowed to the prefix.
        Grant::on(&["s3:ListBucket"], &bucket, |b| vec![format!("arn:aws:s3:::{b}")]).when(
            [("StringLike".to_owned(), [("s3:prefix".to_owned(), vec![format!("{prefix}*")])].into_iter().collect())]
                .into_iter()
                .collect(),
        ),
    ]
}

/// Use of a KMS key for reading (`Decrypt`) or also for writing (`GenerateDataKey`).
pub fn kms_use(key_arn: &Input<String>, write: bool) -> Grant {
    let actions: &[&str] = if write { &["kms:Decrypt", "kms:GenerateDataKey"] } else { &["kms:Decrypt"] };
    Grant::on(actions, &key_arn.clone().into_output(), |arn| vec![arn])
}

/// The policy document of `grants`, once all their resources are known.
pub fn document(grants: &[Grant]) -> Output<PolicyDocument> {
    let plain: Vec<(Vec<String>, Option<Condition>)> =
        grants.iter().map(|g| (g.actions.clone(), g.condition.clone())).collect();
    Output::all(grants.iter().map(|g| g.resources.clone())).map(move |resources: Vec<Vec<String>>| {
        let statement = plain
            .iter()
            .zip(resources)
            .map(|((actions, condition), resources)| {
                let mut s = Statement::allow(actions.clone(), resources);
                s.condition = condition.clone();
                s
            })
            .collect::<Vec<_>>();
        PolicyDocument::builder().statement(statement).build()
    })
}

/// The trust policy of an IAM role for the Kubernetes service account
/// `namespace/service_account` of `cluster` (IRSA): only that account's tokens,
/// only for STS.
pub fn irsa_trust(cluster: &ClusterInfo, namespace: &str, service_account: &str) -> Output<PolicyDocument> {
    let subject = format!("system:serviceaccount:{namespace}:{service_account}");
    let arn = cluster.oidc_provider_arn.clone().into_output();
    let issuer = cluster.oidc_issuer.clone().into_output();
    arn.zip(&issuer).map(move |(arn, issuer)| {
        let condition: Condition = [(
            "StringEquals".to_owned(),
            [
                (format!("{issuer}:sub"), vec![subject.clone()]),
                (format!("{issuer}:aud"), vec!["sts.amazonaws.com".to_owned()]),
            ]
            .into_iter()
            .collect(),
        )]
        .into_iter()
        .collect();
        PolicyDocument::builder()
            .statement(vec![
                Statement::builder()
                    .principal(Principal::federated(arn))
                    .action(["sts:AssumeRoleWithWebIdentity"])
                    .condition(condition)
                    .build(),
            ])
            .build()
    })
}

/// Declares, in `scope`, an IRSA role `<component>-<suffix>` for the service
/// account `namespace/service_account` with exactly `grants` as its inline policy.
pub fn irsa_role(
    scope: &Scope,
    suffix: &str,
    cluster: &ClusterInfo,
    (namespace, service_account): (&str, &str),
    grants: &[Grant],
    tags: &BTreeMap<String, String>,
) -> Result<Role, DeclareError> {
    role_with_grants(
        scope,
        suffix,
        irsa_trust(cluster, namespace, service_account),
        grants,
        tags,
        &format!("Kubernetes service account {namespace}/{service_account} of {}", scope.name()),
    )
}

/// Declares, in `scope`, a role `<component>-<suffix>` trusted by `trust` with
/// exactly `grants` as its inline policy (`<component>-<suffix>-access`).
pub fn role_with_grants(
    scope: &Scope,
    suffix: &str,
    trust: impl Into<Input<PolicyDocument>>,
    grants: &[Grant],
    tags: &BTreeMap<String, String>,
    description: &str,
) -> Result<Role, DeclareError> {
    let role = scope.resource(
        &scope.child_name(suffix),
        RoleArgs::builder().assume_role_policy(trust).description(description.to_owned()).tags(tags.clone()).build(),
    )?;
    if !grants.is_empty() {
        scope.resource(
            &scope.child_name(&format!("{suffix}-access")),
            RolePolicyArgs::builder().role(role.name.clone()).name("access").policy(document(grants)).build(),
        )?;
    }
    Ok(role)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::{OutputSource, Urn, Value};

    struct Nothing;
    impl OutputSource for Nothing {
        fn outputs_of(&self, _: &Urn) -> Option<&Value> {
            None
        }
    }

    #[test]
    fn grants_join_into_one_document_once_known() {
        let grants = s3_read(&"models".into(), "prod/llm/");
        let doc = document(&grants).node().evaluate(&Nothing).unwrap().to_json();
        assert_eq!(doc["statement"][0]["resource"][0], "arn:aws:s3:::models/prod/llm/*");
        assert_eq!(doc["statement"][0]["action"], serde_json::json!(["s3:GetObject", "s3:GetObjectVersion"]));
        assert_eq!(doc["statement"][1]["resource"][0], "arn:aws:s3:::models");
    }

    #[test]
    fn irsa_trust_names_one_service_account() {
        let cluster = ClusterInfo {
            name: "c".into(),
            version: "1.31".into(),
            oidc_provider_arn: "arn:aws:iam::1:oidc-provider/oidc.eks/id/X".into(),
            oidc_issuer: "oidc.eks/id/X".into(),
        };
        let doc = irsa_trust(&cluster, "inference", "llm").node().evaluate(&Nothing).unwrap().to_json();
        let s = &doc["statement"][0];
        assert_eq!(s["action"][0], "sts:AssumeRoleWithWebIdentity");
        assert_eq!(s["condition"]["StringEquals"]["oidc.eks/id/X:sub"][0], "system:serviceaccount:inference:llm");
    }
}
