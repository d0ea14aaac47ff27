//! The parts of every resource type that the schema and the typed arguments
//! decide, written once: Check, and moving inputs and outputs between
//! [`Value`] and the typed structs.

use cairn_aws::policy::PolicyDocument;
use cairn_core::schema::ResourceSchema;
use cairn_core::value::DEFAULTS_KEY;
use cairn_core::{CheckFailure, CheckRequest, CheckResponse, Input, PropertyPath, ProviderError, ReadRequest, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A resource type's typed arguments, as the generic code needs them.
pub(crate) trait TypedArgs: Serialize + DeserializeOwned {
    /// The type's schema.
    const SCHEMA: &'static ResourceSchema;

    /// Refusals beyond the schema's structure (sizes, combinations).
    fn failures(&self) -> Vec<CheckFailure>;
    /// Refusals that need the raw inputs, which still carry the secret
    /// markers the typed arguments drop.
    fn raw_failures(_inputs: &Value) -> Vec<CheckFailure> {
        Vec::new()
    }

    /// The policy documents in the arguments, scanned for wildcard actions.
    fn policies(&self) -> Vec<(PropertyPath, &PolicyDocument)> {
        Vec::new()
    }

    /// True when replacing a resource with these recorded (`olds`) and new
    /// inputs must delete the old one first, because both could not exist
    /// at once (beyond the fixed-name case the schema already knows).
    fn replace_deletes_first(_olds: &Value, _news: &Value) -> bool {
        false
    }
}

/// `impl TypedArgs` for arguments that need nothing beyond their schema and
/// their own `validate()`, as most types do.
macro_rules! plain_args {
    ($args:ty, $schema:expr) => {
        impl $crate::generic::TypedArgs for $args {
            const SCHEMA: &'static cairn_core::schema::ResourceSchema = &$schema;

            fn failures(&self) -> Vec<cairn_core::CheckFailure> {
                self.validate()
            }
        }
    };
}
pub(crate) use plain_args;

/// Diff from the schema, with the type's own say on replacement order.
pub(crate) fn diff<A: TypedArgs>(olds: &Value, news: &Value) -> cairn_core::DiffResponse {
    let mut d = A::SCHEMA.diff(olds, news);
    if !d.replaces.is_empty() && A::replace_deletes_first(olds, news) {
        d.delete_before_replace = true;
    }
    d
}

/// Check: structure from the schema, the auto-name, then the typed
/// arguments' own validation. Unknown inputs (preview) deserialize as
/// [`Input::Unknown`] and are not judged.
pub(crate) fn check<A: TypedArgs>(req: CheckRequest) -> CheckResponse {
    let CheckRequest { urn, olds, news: mut inputs } = req;
    let mut failures = A::SCHEMA.check_structure(&inputs);
    failures.extend(A::raw_failures(&inputs));
    A::SCHEMA.fill_auto_name(&urn, olds.as_ref(), &mut inputs);
    let mut warnings = Vec::new();
    // Deserializing inputs that are structurally wrong would only repeat the same complaints.
    if failures.is_empty() {
        match inputs.deserialize_into::<A>() {
            Ok(args) => {
                failures.extend(args.failures());
                warnings.extend(wildcard_warnings(&args));
                // Recorded inputs then have the same shape as what Read reports.
                if let Ok(canonical) = Value::from_serialize(&args) {
                    fill_defaults(&mut inputs, &canonical);
                }
            }
            Err(e) => failures.push(locate_failure::<A>(&inputs, &e.to_string())),
        }
    }
    CheckResponse { inputs, failures, warnings }
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

fn wildcard_warnings<A: TypedArgs>(args: &A) -> Vec<CheckFailure> {
    let mut warnings = Vec::new();
    for (path, doc) in args.policies() {
        for i in doc.wildcard_statements() {
            let actions = doc.statement[i].action.join(", ");
            warnings.push(CheckFailure {
                property: path.key("statement").index(i),
                reason: format!(
                    "statement {i} of `{path}` allows wildcard actions ({actions}): \
                     list only the actions the role needs"
                ),
            });
        }
    }
    warnings
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

/// The typed arguments of recorded or checked inputs.
pub(crate) fn args<A: TypedArgs>(inputs: &Value) -> Result<A, ProviderError> {
    inputs.deserialize_into().map_err(|e| {
        ProviderError::invalid(format!("the inputs of a `{}` do not match its arguments: {e}", A::SCHEMA.token))
    })
}

/// The typed arguments of recorded inputs, if they parse (they may be partial, e.g. on import).
pub(crate) fn recorded<A: TypedArgs>(inputs: &Value) -> Option<A> {
    inputs.deserialize_into().ok()
}

/// An input that must be known by now (create and update only see known inputs).
pub(crate) fn known<'a, T>(input: &'a Input<T>, property: &str) -> Result<&'a T, ProviderError> {
    input.require(property).map_err(|e| ProviderError::invalid(e.to_string()))
}

/// The physical name, which Check always fills.
pub(crate) fn physical_name(input: &Option<Input<String>>, property: &str) -> Result<String, ProviderError> {
    match input {
        Some(name) => known(name, property).cloned(),
        None => Err(ProviderError::invalid(format!(
            "`{property}` is missing: Check fills it, so these inputs were never checked"
        ))),
    }
}

/// The provider ID to read: the recorded one, or (after a create interrupted
/// before its ID was recorded) the name property of the inputs.
pub(crate) fn read_id(req: &ReadRequest, property: &str) -> Result<String, ProviderError> {
    match &req.id {
        Some(id) => Ok(id.clone()),
        None => input_str(&req.inputs, property),
    }
}

/// A string property of raw inputs.
pub(crate) fn input_str(inputs: &Value, property: &str) -> Result<String, ProviderError> {
    inputs.get(property).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| {
        ProviderError::invalid(format!("cannot find the resource: it has no ID and its inputs have no `{property}`"))
    })
}

/// Live arguments as Read reports them: shaped like the declared inputs,
/// keeping the recorded list of defaulted properties.
pub(crate) fn live_inputs<A: TypedArgs>(live: &A, recorded: &Value) -> Result<Value, ProviderError> {
    let mut inputs = to_value(live)?;
    if let (Value::Map(map), Some(defaults)) = (&mut inputs, recorded.get(DEFAULTS_KEY)) {
        map.insert(DEFAULTS_KEY.to_owned(), defaults.clone());
    }
    Ok(inputs)
}

/// Serializes outputs (or anything else) to a [`Value`].
pub(crate) fn to_value<T: Serialize>(v: &T) -> Result<Value, ProviderError> {
    Value::from_serialize(v).map_err(|e| ProviderError::internal(format!("serializing a value failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_aws::{NodeGroupArgs, RoleArgs};
    use cairn_core::{ProjectName, ResourceType, StackName, Urn};
    use serde_json::json;

    fn urn(ty: &str, name: &str) -> Urn {
        let (s, p) = (StackName::new("dev").unwrap(), ProjectName::new("ai").unwrap());
        Urn::new(&s, &p, None, &ResourceType::new(ty).unwrap(), name).unwrap()
    }

    fn node_group(scaling: serde_json::Value) -> Value {
        Value::from_json(&json!({
            "cluster_name": {"$cairn.unknown": true},
            "node_role_arn": {"$cairn.unknown": true},
            "subnet_ids": ["subnet-a"],
            "instance_types": ["g5.xlarge"],
            "ami_type": "AL2023_x86_64_NVIDIA",
            "scaling": scaling,
        }))
    }

    fn text(failures: &[CheckFailure]) -> Vec<String> {
        failures.iter().map(|f| format!("{}: {}", f.property, f.reason)).collect()
    }

    #[test]
    fn check_fills_the_auto_name_and_allows_unknowns() {
        let req = CheckRequest {
            urn: urn("aws:eks:NodeGroup", "gpu"),
            olds: None,
            news: node_group(json!({"min_size": 0, "max_size": 2, "desired_size": 1})),
        };
        let res = check::<NodeGroupArgs>(req);
        assert!(res.failures.is_empty(), "{:?}", text(&res.failures));
        let name = res.inputs.get("node_group_name").and_then(Value::as_str).unwrap();
        assert!(name.starts_with("gpu-") && name.len() == "gpu-".len() + 7, "{name}");
        assert!(res.inputs.get(DEFAULTS_KEY).is_some());
    }

    #[test]
    fn check_reports_validation_and_type_errors_by_property() {
        let bad_sizes = CheckRequest {
            urn: urn("aws:eks:NodeGroup", "gpu"),
            olds: None,
            news: node_group(json!({"min_size": 3, "max_size": 2, "desired_size": 2})),
        };
        let res = check::<NodeGroupArgs>(bad_sizes);
        assert_eq!(
            text(&res.failures),
            ["scaling.min_size: min_size (3) is greater than max_size (2): set scaling.min_size <= scaling.max_size"]
        );

        let wrong_type = CheckRequest {
            urn: urn("aws:eks:NodeGroup", "gpu"),
            olds: None,
            news: node_group(json!({"min_size": "zero", "max_size": 2, "desired_size": 1})),
        };
        let res = check::<NodeGroupArgs>(wrong_type);
        let t = text(&res.failures);
        assert_eq!(t.len(), 1);
        assert!(t[0].starts_with("scaling: `scaling` is not valid: invalid type"), "{t:?}");

        let mut bad_enum = node_group(json!({"min_size": 0, "max_size": 2, "desired_size": 1}));
        if let Value::Map(m) = &mut bad_enum {
            m.insert("ami_type".into(), "WINDOWS_95".into());
        }
        let res =
            check::<NodeGroupArgs>(CheckRequest { urn: urn("aws:eks:NodeGroup", "gpu"), olds: None, news: bad_enum });
        assert!(text(&res.failures)[0].starts_with("ami_type: "), "{:?}", text(&res.failures));
    }

    #[test]
    fn wildcard_actions_are_warnings_not_failures() {
        let news = Value::from_json(&json!({
            "assume_role_policy": {"statement": [{"principal": {"service": ["eks.amazonaws.com"]}, "action": ["sts:AssumeRole"]}]},
            "inline_policies": {"admin": {"statement": [
                {"action": ["s3:GetObject"], "resource": ["*"]},
                {"action": ["s3:*"], "resource": ["*"]}
            ]}}
        }));
        let res = check::<RoleArgs>(CheckRequest { urn: urn("aws:iam:Role", "ci"), olds: None, news });
        assert!(res.failures.is_empty(), "{:?}", text(&res.failures));
        let w = text(&res.warnings);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with("inline_policies.admin.statement[1]: statement 1 of `inline_policies.admin`"),
            "{w:?}"
        );
    }

    #[test]
    fn check_fills_serde_defaults_at_any_depth_and_keeps_secrets() {
        let news = Value::from_json(&json!({
            "bucket": "b-1",
            "public_access_block": {"block_public_policy": false},
            "tags": {"owner": {"$cairn.secret": "alice"}}
        }));
        let res = check::<cairn_aws::BucketArgs>(CheckRequest { urn: urn("aws:s3:Bucket", "b"), olds: None, news });
        assert!(res.failures.is_empty(), "{:?}", text(&res.failures));
        let j = res.inputs.to_json();
        assert_eq!(j["versioning"], json!(true));
        assert_eq!(j["encryption"], json!({"algorithm": "AES256"}));
        assert_eq!(
            j["public_access_block"],
            json!({"block_public_acls": true, "ignore_public_acls": true, "block_public_policy": false, "restrict_public_buckets": true})
        );
        assert_eq!(j["tags"], json!({"owner": {"$cairn.secret": "alice"}}));
        assert!(res.inputs.get(DEFAULTS_KEY).is_none(), "the name was given");
    }

    #[test]
    fn live_inputs_keep_the_recorded_defaults_list() {
        let recorded = Value::from_json(&json!({"name": "ci-1234567", "$cairn.defaults": ["name"]}));
        let live = RoleArgs::builder()
            .name("ci-1234567")
            .assume_role_policy(PolicyDocument::assume_role_for_service("eks.amazonaws.com"))
            .build();
        let v = live_inputs(&live, &recorded).unwrap();
        assert_eq!(v.get(DEFAULTS_KEY), recorded.get(DEFAULTS_KEY));
        assert_eq!(v.get("name").and_then(Value::as_str), Some("ci-1234567"));
    }
}
