//! `aws:sagemaker:ModelPackageGroup`: a SageMaker model registry group, which
//! holds the versions of one model.

use std::collections::BTreeMap;

use cairn_core::schema::TypedArgs;
use cairn_core::{CheckFailure, Input};
use serde::{Deserialize, Serialize};
use typed_builder::TypedBuilder;

use crate::failure;

/// The longest model package group name SageMaker accepts.
const MAX_GROUP_NAME: usize = 63;
/// The longest description SageMaker accepts.
const MAX_DESCRIPTION: usize = 1024;

/// The arguments of a model package group.
///
/// ```
/// use cairn_aws::sagemaker::ModelPackageGroupArgs;
/// let models = ModelPackageGroupArgs::builder().description("fraud scoring models").build();
/// assert!(models.validate().is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "A SageMaker model package group (provider ID: its name). Tags change in place; the name and the \
          description are fixed.",
    outputs = ModelPackageGroupOutputs,
    auto_name(property = "name", max_len = MAX_GROUP_NAME)
)]
pub struct ModelPackageGroupArgs {
    /// The group name; generated from the logical name when absent. Changing it replaces the group.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub name: Option<Input<String>>,
    /// A description. SageMaker cannot change it: changing it replaces the group.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub description: Option<String>,
    /// Tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(tags)
    }))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

cairn_core::resource! {
    /// A SageMaker model package group, as declared: its URN and typed outputs.
    ModelPackageGroup, token = "aws:sagemaker:ModelPackageGroup", args = ModelPackageGroupArgs,
    outputs = ModelPackageGroupOutputs {
        /// The group ARN (what IAM policies and model packages take).
        arn: String,
        /// The group name (the provider ID).
        name: String,
    }
}

impl ModelPackageGroupArgs {
    /// Checks what SageMaker would refuse later, with the fix in each message.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        if let Some(name) = self.name.as_ref().and_then(Input::value) {
            let chars_ok = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            let edges_ok = name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) && !name.ends_with('-');
            if name.is_empty() || name.len() > MAX_GROUP_NAME || !chars_ok || !edges_ok {
                failures.push(failure(
                    "name",
                    format!(
                        "`{name}` is not a valid model package group name: use 1 to {MAX_GROUP_NAME} letters, digits \
                         or `-`, starting and ending with a letter or digit"
                    ),
                ));
            }
        }
        if let Some(d) = &self.description
            && d.chars().count() > MAX_DESCRIPTION
        {
            failures.push(failure(
                "description",
                format!("the description has {} characters: shorten it to {MAX_DESCRIPTION}", d.chars().count()),
            ));
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::Value;
    use serde_json::json;

    #[test]
    fn round_trips_and_validates() {
        let args = ModelPackageGroupArgs::builder().description("d").tags([("team", "ml")]).build();
        let v = Value::from_serialize(&args).unwrap();
        assert_eq!(v.to_json(), json!({"description": "d", "tags": {"team": "ml"}}));
        let back: ModelPackageGroupArgs = v.deserialize_into().unwrap();
        assert_eq!(Value::from_serialize(&back).unwrap(), v);
        assert!(cairn_provider_sdk::check_structure(<ModelPackageGroupArgs as TypedArgs>::SCHEMA, &v).is_empty());

        let bad = ModelPackageGroupArgs::builder().name("fraud_models").description("x".repeat(1025)).build();
        let text: Vec<String> = bad.validate().iter().map(|f| format!("{}: {}", f.property, f.reason)).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(text[0].starts_with("name: `fraud_models` is not a valid model package group name"), "{text:?}");
        assert!(text[1].starts_with("description: the description has 1025 characters"), "{text:?}");
    }
}
