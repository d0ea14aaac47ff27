//! Every Kubernetes object the runtime stack renders, per environment, pinned as YAML (insta)
//! and checked: built-in kinds read back through their k8s-openapi types, custom resources
//! against their published CRD schemas. The other stacks' outputs are fixed stand-ins and the
//! outputs of this stack's own resources appear as `<name.property>`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use cairn_core::output::resolve_placeholders;
use cairn_core::reference::OutputsError;
use cairn_core::{OutputSource, ProjectName, Stack, StackName, StackOutputs, Urn, Value};

const ENVIRONMENTS: [&str; 3] = ["dev", "staging", "prod"];

/// The outputs of ai-base and ai-platform, as their programs export them.
struct OtherStacks;

impl StackOutputs for OtherStacks {
    fn outputs(
        &self,
        project: &ProjectName,
        stack: &StackName,
    ) -> Result<Option<BTreeMap<String, Value>>, OutputsError> {
        let s = stack.as_str();
        let values: Vec<(&str, Value)> = match project.as_str() {
            "ai-base" => vec![
                ("cluster_name", format!("ai-{s}").into()),
                ("cluster_version", "1.31".into()),
                (
                    "oidc_provider_arn",
                    "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EX".into(),
                ),
                ("oidc_issuer", "oidc.eks.us-east-1.amazonaws.com/id/EX".into()),
                ("private_subnet_ids", Value::List(vec!["subnet-a".into(), "subnet-b".into()])),
                ("model_bucket", format!("models-{s}").into()),
                ("model_key_arn", "arn:aws:kms:us-east-1:123456789012:key/models".into()),
                ("artifact_bucket", format!("artifacts-{s}").into()),
            ],
            "ai-platform" => vec![
                ("prep_name", "prep".into()),
                ("prep_namespace", "data".into()),
                ("prep_service_account", "prep".into()),
                ("prep_role_arn", format!("arn:aws:iam::123456789012:role/prep-{s}").into()),
                ("prep_queue_url", format!("https://sqs.us-east-1.amazonaws.com/123456789012/prep-jobs-{s}").into()),
                ("prep_pool", "prep-workers".into()),
                ("prep_queue_name", format!("prep-jobs-{s}").into()),
                ("prep_max_backlog", Value::Float(10_000.0)),
            ],
            _ => return Ok(None),
        };
        Ok(Some(values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
    }

    fn describe(&self) -> String {
        "fixed stand-ins".into()
    }
}

/// Every resource's outputs as `<name.property>`.
struct Named(BTreeMap<Urn, Value>);

impl OutputSource for Named {
    fn outputs_of(&self, urn: &Urn) -> Option<&Value> {
        self.0.get(urn)
    }
}

fn named(declared: &cairn_core::DeclaredStack) -> Named {
    let schema_of = |ty: &str| cairn::aws::SCHEMAS.iter().find(|s| s.token == ty);
    Named(
        declared
            .resources
            .iter()
            .filter_map(|r| {
                let schema = schema_of(r.urn.resource_type().as_str())?;
                let outputs: Value =
                    schema.outputs.iter().map(|(f, _)| (*f, Value::from(format!("<{}.{f}>", r.urn.name())))).collect();
                Some((r.urn.clone(), outputs))
            })
            .collect(),
    )
}

/// The stack's manifests: (file, object).
fn manifests(env: &str) -> Vec<(String, serde_json::Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let stack = StackName::new(env).unwrap();
    let config = cairn::config::load(dir, &stack).unwrap().config;
    let ctx =
        Stack::new(stack, ProjectName::new("ai-runtime").unwrap(), config).with_stack_outputs(Arc::new(OtherStacks));
    ai_runtime::program(&ctx).unwrap();
    let declared = ctx.finish();
    let source = named(&declared);
    let mut out: Vec<_> = declared
        .resources
        .iter()
        .filter(|r| r.urn.resource_type().as_str() == "gitops:index:Manifest")
        .map(|r| {
            let inputs = resolve_placeholders(&r.inputs, &r.outputs, &source).unwrap().to_json();
            (inputs["file"].as_str().unwrap().to_owned(), inputs["object"].clone())
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn the_runtime_stack_renders_every_manifest_per_environment() {
    for env in ENVIRONMENTS {
        let manifests = manifests(env);
        let mut text = String::new();
        for (file, object) in &manifests {
            text.push_str(&format!("# {file}\n{}---\n", cairn_k8s::canonical_yaml(object)));
        }
        insta::assert_snapshot!(format!("runtime@{env}"), text);

        let kinds: BTreeSet<&str> = manifests.iter().map(|(_, o)| o["kind"].as_str().unwrap()).collect();
        let mut expected = vec![
            "Application",
            "ConfigMap",
            "InferenceService",
            "Job",
            "NetworkPolicy",
            "PrometheusRule",
            "ResourceQuota",
            "ServiceAccount",
            "WorkflowTemplate",
        ];
        if env == "prod" {
            // Retraining is scheduled in prod only.
            expected.push("CronWorkflow");
        }
        expected.sort();
        assert_eq!(kinds.into_iter().collect::<Vec<_>>(), expected, "{env}");
    }
}

#[test]
fn every_rendered_object_passes_its_kinds_type_and_schema() {
    for env in ENVIRONMENTS {
        for (file, object) in manifests(env) {
            let kind = cairn_k8s::check_object(&object)
                .unwrap_or_else(|e| panic!("{env}: {file}: {e}"))
                .unwrap_or_else(|| panic!("{env}: {file}: a kind Cairn does not type"));
            match cairn_k8s_schemas::check(&object) {
                Ok(checked) => assert_eq!(checked, kind.custom, "{env}: {file}: every custom resource has a schema"),
                Err(errors) => {
                    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
                    panic!("{env}: {file}:\n{}", shown.join("\n"));
                }
            }
        }
    }
}

#[test]
fn scale_to_zero_outside_prod_and_a_warm_replica_in_it() {
    for env in ENVIRONMENTS {
        let manifests = manifests(env);
        let isvc = manifests.iter().find(|(_, o)| o["kind"] == "InferenceService").unwrap();
        let min = isvc.1["spec"]["predictor"]["minReplicas"].as_i64().unwrap();
        assert_eq!(min, if env == "prod" { 1 } else { 0 }, "{env}");
    }
}
