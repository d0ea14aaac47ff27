//! Check from a resource type's schema and typed arguments.

use std::collections::BTreeSet;

use cairn_core::schema::{AutoName, ResourceSchema, defaults_of};
use cairn_core::value::DEFAULTS_KEY;
use cairn_core::{CheckFailure, CheckRequest, CheckResponse, PropertyPath, Urn, Value};
use serde::de::DeserializeOwned;

use crate::typed::TypedArgs;

/// Check: structure from the schema, the auto-name, then the typed
/// arguments' own validation and warnings. Unknown inputs (preview)
/// deserialize as [`cairn_core::Input::Unknown`] and are not judged. The
/// serde defaults of omitted properties are written into the inputs, so
/// recorded inputs have the shape Read reports.
pub fn check<A: TypedArgs>(req: CheckRequest) -> CheckResponse {
    let CheckRequest { urn, olds, news: mut inputs } = req;
    let mut failures = check_structure(A::SCHEMA, &inputs);
    failures.extend(A::raw_failures(&inputs));
    fill_auto_name(A::SCHEMA, &urn, olds.as_ref(), &mut inputs);
    let mut warnings = Vec::new();
    // Deserializing inputs that are structurally wrong would only repeat the same complaints.
    if failures.is_empty() {
        match inputs.deserialize_into::<A>() {
            Ok(args) => {
                failures.extend(args.failures());
                warnings.extend(args.warnings());
                if let Ok(canonical) = Value::from_serialize(&args) {
                    fill_defaults(&mut inputs, &canonical);
                }
            }
            Err(e) => failures.push(locate_failure::<A>(&inputs, &e.to_string())),
        }
    }
    CheckResponse { inputs, failures, warnings }
}

/// Structural checks: unknown properties, missing required ones, and plain
/// values given to secret ones.
pub fn check_structure(schema: &ResourceSchema, news: &Value) -> Vec<CheckFailure> {
    let mut failures = Vec::new();
    let Some(map) = news.as_map() else {
        return vec![CheckFailure { property: PropertyPath::root(), reason: "inputs must be a map".into() }];
    };
    for key in map.keys().filter(|k| !k.starts_with("$cairn.")) {
        if schema.property(key).is_none() {
            let known: Vec<&str> = schema.properties.iter().map(|p| p.name).collect();
            failures.push(CheckFailure {
                property: PropertyPath::root().key(key),
                reason: format!("`{}` has no property `{key}`; known properties: {}", schema.token, known.join(", ")),
            });
        }
    }
    for p in schema.properties.iter().filter(|p| p.secret) {
        if let Some(v) = map.get(p.name)
            && !matches!(v, Value::Null)
            && !v.contains_unknown()
            && !v.contains_secret()
        {
            failures.push(CheckFailure {
                property: PropertyPath::root().key(p.name),
                reason: "the value is not marked secret, so previews would show it and the state would keep it in \
                         plain text: pass a secret output (config.require_secret, a stack reference's \
                         require_secret, or Output::secret / .as_secret())"
                    .into(),
            });
        }
    }
    for p in schema.properties.iter().filter(|p| p.required) {
        if matches!(map.get(p.name), None | Some(Value::Null)) {
            failures.push(CheckFailure {
                property: PropertyPath::root().key(p.name),
                reason: format!("`{}` is required: set it in the resource's arguments", p.name),
            });
        }
    }
    failures
}

/// Fills the auto-name when the program gave none: the recorded one is
/// kept if there is one (`olds`), otherwise `<logical name>-<7 hex>`.
/// The filled property is listed under `$cairn.defaults`.
pub fn fill_auto_name(schema: &ResourceSchema, urn: &Urn, olds: Option<&Value>, news: &mut Value) {
    let (Some(auto), Value::Map(map)) = (schema.auto_name, &mut *news) else { return };
    if !matches!(map.get(auto.property), None | Some(Value::Null)) {
        return;
    }
    let previous = olds.filter(|o| defaults_of(o).contains(auto.property)).and_then(|o| o.get(auto.property));
    let name = match previous {
        Some(v) => v.clone(),
        None => Value::String(auto_name(urn.name(), auto)),
    };
    map.insert(auto.property.to_owned(), name);
    let mut defaults: BTreeSet<String> = defaults_of(news);
    defaults.insert(auto.property.to_owned());
    if let Value::Map(map) = news {
        map.insert(DEFAULTS_KEY.to_owned(), Value::List(defaults.into_iter().map(Value::String).collect()));
    }
}

fn auto_name(logical: &str, auto: AutoName) -> String {
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..7];
    let mut base: String =
        logical.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
    if auto.lowercase {
        base = base.to_ascii_lowercase();
    }
    base.truncate(auto.max_len.saturating_sub(8));
    let name = format!("{base}-{suffix}");
    match auto.reserved_prefix {
        Some(reserved) if name.get(..reserved.len()).is_some_and(|p| p.eq_ignore_ascii_case(reserved)) => {
            let cut = reserved.len() - 1;
            format!("{}_{}", &name[..cut], &name[reserved.len()..])
        }
        _ => name,
    }
}

/// Adds what `canonical` (the typed arguments serialized again) has and
/// `inputs` lacks: the serde defaults of omitted properties, at any depth.
/// Values the inputs have are kept as they are, secrets included.
fn fill_defaults(inputs: &mut Value, canonical: &Value) {
    match (inputs, canonical) {
        (Value::Map(have), Value::Map(full)) => {
            for (key, value) in full {
                match have.get_mut(key) {
                    Some(existing) => fill_defaults(existing, value),
                    None => {
                        have.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (Value::List(have), Value::List(full)) if have.len() == full.len() => {
            for (existing, value) in have.iter_mut().zip(full) {
                fill_defaults(existing, value);
            }
        }
        (Value::Secret(inner), full) => fill_defaults(inner, full),
        _ => {}
    }
}

/// Names the property a deserialization error comes from. serde's messages
/// do not say, so each top-level property is left out in turn: the culprit is
/// the one whose absence makes the error go away (or become "missing").
fn locate_failure<A: DeserializeOwned>(inputs: &Value, message: &str) -> CheckFailure {
    let culprit = inputs.as_map().and_then(|map| {
        map.keys().filter(|k| !k.starts_with("$cairn.")).find(|key| {
            let mut without = map.clone();
            without.remove(key.as_str());
            match Value::Map(without).deserialize_into::<A>() {
                Ok(_) => true,
                Err(e) => e.to_string() == format!("missing field `{key}`"),
            }
        })
    });
    let missing = message.strip_prefix("missing field `").and_then(|rest| rest.strip_suffix('`'));
    match culprit.map(String::as_str).or(missing) {
        Some(key) => {
            CheckFailure { property: PropertyPath::root().key(key), reason: format!("`{key}` is not valid: {message}") }
        }
        None => CheckFailure { property: PropertyPath::root(), reason: format!("the inputs are not valid: {message}") },
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::TypedArgs;
    use cairn_core::{ProjectName, ResourceType, StackName};
    use serde_json::json;

    /// A type described the way every type is: derived from its argument struct.
    #[derive(serde::Serialize, serde::Deserialize, cairn_core::schema::TypedArgs)]
    #[args(
        doc = "A test bucket.",
        outputs = BucketOutputs,
        auto_name(property = "bucket", max_len = 63, lowercase),
        no_validate
    )]
    pub(crate) struct BucketArgs {
        /// Its name.
        #[args(replace)]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bucket: Option<String>,
        /// Its tags.
        #[serde(default)]
        tags: std::collections::BTreeMap<String, String>,
        /// Its region.
        #[args(replace)]
        region: String,
    }

    cairn_core::resource! {
        /// A test bucket.
        Bucket, token = "aws:s3:Bucket", args = BucketArgs, outputs = BucketOutputs {
            /// Its ARN.
            arn: String,
        }
    }

    pub(crate) const SCHEMA: &ResourceSchema = <BucketArgs as TypedArgs>::SCHEMA;

    fn urn() -> Urn {
        let (s, p) = (StackName::new("dev").unwrap(), ProjectName::new("p").unwrap());
        Urn::new(&s, &p, None, &ResourceType::new("aws:s3:Bucket").unwrap(), "Artifacts_1").unwrap()
    }

    #[test]
    fn an_auto_name_never_starts_with_a_reserved_prefix() {
        let auto = AutoName { property: "name", max_len: 255, lowercase: false, reserved_prefix: Some("sg-") };
        let sg = auto_name("sg", auto);
        assert!(sg.starts_with("sg_") && sg.len() == "sg_".len() + 7, "{sg}");
        let web = auto_name("SG-web", auto);
        assert!(web.starts_with("SG_web-"), "{web}");
        assert!(auto_name("web", auto).starts_with("web-"));
        assert!(auto_name("sgx", auto).starts_with("sgx-"), "only the whole prefix counts");
    }

    #[test]
    fn auto_name_is_generated_once_and_kept() {
        let mut news = Value::from_json(&json!({"region": "us-east-1"}));
        fill_auto_name(SCHEMA, &urn(), None, &mut news);
        let name = news.get("bucket").and_then(Value::as_str).unwrap().to_owned();
        assert!(name.starts_with("artifacts-1-") && name.len() == "artifacts-1-".len() + 7, "{name}");
        let mut again = Value::from_json(&json!({"region": "us-east-1"}));
        fill_auto_name(SCHEMA, &urn(), Some(&news), &mut again);
        assert_eq!(again.get("bucket").and_then(Value::as_str), Some(name.as_str()));
    }

    #[test]
    fn structure_check_names_unknown_and_missing_properties() {
        let f = check_structure(SCHEMA, &Value::from_json(&json!({"colour": "red"})));
        let text: Vec<String> = f.iter().map(|f| format!("{}: {}", f.property, f.reason)).collect();
        assert!(text[0].starts_with("colour: ") && text[0].contains("known properties"), "{text:?}");
        assert!(text[1].starts_with("region: ") && text[1].contains("required"), "{text:?}");
    }
}
