//! The example AI platform against the AWS emulator, end to end: create and
//! read back every declared property, a no-op second preview, an in-place
//! update, a replacement, a delete, and a destroy that leaves nothing.

use cairn_tests::{Project, Run, assert_gone, eks, iam, s3, team_buckets, unique};

fn config(team: &str, extra: &str) -> String {
    cairn_tests::platform_config(team, extra)
}

fn outputs(run: &Run) -> serde_json::Value {
    run.json()["outputs"].clone()
}

fn ops_other_than_same(run: &Run) -> Vec<(String, String)> {
    run.ops().into_iter().filter(|(_, op)| op != "same").collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_platform_converges_updates_replaces_and_destroys() {
    let team = unique("e2e");
    let p = Project::new("test-platform");
    p.write_config("dev", &config(&team, ""));

    let preview = p.run(&["preview", "--json"]).ok();
    assert!(preview.ops().iter().all(|(_, op)| op == "create"), "{:?}", preview.ops());
    assert_eq!(
        preview.ops().len(),
        10,
        "3 components, 2 roles, secrets key, cluster, OIDC provider, node group, bucket: {:?}",
        preview.ops()
    );

    let up = p.run(&["up", "--yes", "--json"]).ok();
    let doc = up.json();
    assert_eq!(doc["succeeded"], true);
    assert!(doc["steps"].as_array().unwrap().iter().all(|s| s["status"] == "succeeded"), "{doc:#}");
    let out = outputs(&up);
    let cluster_name = out["cluster_name"].as_str().unwrap().to_owned();
    let ng_name = out["gpu_node_group"].as_str().unwrap().to_owned();
    let bucket = out["artifact_bucket"].as_str().unwrap().to_owned();

    // Read every declared property back through the SDK.
    let eks = eks().await;
    let cluster = eks.describe_cluster().name(&cluster_name).send().await.unwrap().cluster.unwrap();
    assert_eq!(cluster.version(), Some("1.30"));
    assert_eq!(cluster.resources_vpc_config().unwrap().subnet_ids(), ["subnet-0aaa", "subnet-0bbb"]);
    assert_eq!(cluster.tags().unwrap().get("team"), Some(&team));
    assert_eq!(cluster.tags().unwrap().get("environment").map(String::as_str), Some("dev"));
    let vpc = cluster.resources_vpc_config().unwrap();
    assert_eq!((vpc.endpoint_public_access(), vpc.endpoint_private_access()), (false, true), "private unless opened");
    let key = cluster.encryption_config()[0].provider().and_then(|p| p.key_arn()).expect("secrets encrypted");
    assert!(key.starts_with("arn:aws:kms:"), "{key}");
    let issuer = cluster.identity().and_then(|i| i.oidc()).and_then(|o| o.issuer()).unwrap().to_owned();
    let providers = iam().await.list_open_id_connect_providers().send().await.unwrap();
    let issuer_host = issuer.trim_start_matches("https://");
    assert!(
        providers.open_id_connect_provider_list().iter().any(|p| p.arn().is_some_and(|a| a.ends_with(issuer_host))),
        "the cluster's OIDC provider exists for IRSA"
    );
    let role_name = cluster.role_arn().unwrap().rsplit('/').next().unwrap().to_owned();

    let ng = eks.describe_nodegroup().cluster_name(&cluster_name).nodegroup_name(&ng_name).send().await.unwrap();
    let ng = ng.nodegroup.unwrap();
    assert_eq!(ng.instance_types(), ["g5.2xlarge"]);
    assert_eq!(ng.capacity_type().unwrap().as_str(), "SPOT");
    assert_eq!(ng.ami_type().unwrap().as_str(), "AL2023_x86_64_NVIDIA");
    assert_eq!(ng.version(), Some("1.30"), "nodes pinned to the cluster's version");
    let scaling = ng.scaling_config().unwrap();
    assert_eq!((scaling.min_size(), scaling.max_size(), scaling.desired_size()), (Some(0), Some(2), Some(0)));
    assert_eq!(ng.labels().unwrap().get("cairn.dev/accelerator").map(String::as_str), Some("nvidia"));
    let taint = &ng.taints()[0];
    assert_eq!((taint.key(), taint.value()), (Some("nvidia.com/gpu"), Some("true")));
    assert_eq!(taint.effect().unwrap().as_str(), "NO_SCHEDULE");
    assert_eq!(ng.tags().unwrap().get("cairn:component").map(String::as_str), Some("gpu"));

    let s3 = s3().await;
    let enc = s3.get_bucket_encryption().bucket(&bucket).send().await.unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    assert_eq!(rule.apply_server_side_encryption_by_default().unwrap().sse_algorithm().as_str(), "AES256");
    let pab = s3.get_public_access_block().bucket(&bucket).send().await.unwrap();
    let pab = pab.public_access_block_configuration().unwrap();
    assert_eq!(
        (pab.block_public_acls(), pab.ignore_public_acls(), pab.block_public_policy(), pab.restrict_public_buckets()),
        (Some(true), Some(true), Some(true), Some(true))
    );
    let versioning = s3.get_bucket_versioning().bucket(&bucket).send().await.unwrap();
    assert_eq!(versioning.status().map(|s| s.as_str()), Some("Enabled"));
    let tagging = s3.get_bucket_tagging().bucket(&bucket).send().await.unwrap();
    assert!(tagging.tag_set().iter().any(|t| t.key() == "team" && t.value() == team));

    let iam = iam().await;
    let attached = iam.list_attached_role_policies().role_name(&role_name).send().await.unwrap();
    let arns: Vec<&str> = attached.attached_policies().iter().filter_map(|p| p.policy_arn()).collect();
    assert_eq!(arns, ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"]);

    // A second preview changes nothing.
    let again = p.run(&["preview", "--json"]).ok();
    assert_eq!(ops_other_than_same(&again), vec![], "second preview must be a no-op");

    // Scaling → one in-place update of the node group.
    p.write_config("dev", &config(&team, "gpu_max_size = 4\n"));
    let plan = p.run(&["preview", "--json"]).ok();
    assert_eq!(ops_other_than_same(&plan), [("gpu-nodes".to_owned(), "update".to_owned())]);
    let step = plan.json()["steps"].as_array().unwrap().iter().find(|s| s["op"] == "update").unwrap().clone();
    assert_eq!(step["changes"], serde_json::json!(["scaling.max_size"]));
    p.run(&["up", "--yes", "--json"]).ok();
    let ng = eks.describe_nodegroup().cluster_name(&cluster_name).nodegroup_name(&ng_name).send().await.unwrap();
    assert_eq!(ng.nodegroup.unwrap().scaling_config().unwrap().max_size(), Some(4));

    // Instance types → a replacement under a fresh name; the old group is deleted.
    p.write_config("dev", &config(&team, "gpu_max_size = 4\ngpu_instance_types = [\"g6.2xlarge\"]\n"));
    let plan = p.run(&["preview", "--json"]).ok();
    assert_eq!(ops_other_than_same(&plan), [("gpu-nodes".to_owned(), "replace".to_owned())]);
    let up = p.run(&["up", "--yes", "--json"]).ok();
    let new_ng = outputs(&up)["gpu_node_group"].as_str().unwrap().to_owned();
    assert_ne!(new_ng, ng_name);
    let groups = eks.list_nodegroups().cluster_name(&cluster_name).send().await.unwrap();
    assert_eq!(groups.nodegroups(), std::slice::from_ref(&new_ng), "exactly the replacement exists");
    let ng = eks.describe_nodegroup().cluster_name(&cluster_name).nodegroup_name(&new_ng).send().await.unwrap();
    assert_eq!(ng.nodegroup.unwrap().instance_types(), ["g6.2xlarge"]);

    // A resource added then removed from the program → create, then delete.
    p.write_config(
        "dev",
        &config(&team, "gpu_max_size = 4\ngpu_instance_types = [\"g6.2xlarge\"]\ndatasets_bucket = true\n"),
    );
    let up = p.run(&["up", "--yes", "--json"]).ok();
    let datasets = |op: &str| vec![("datasets".to_owned(), op.to_owned()); 2];
    assert_eq!(ops_other_than_same(&up), datasets("create"), "the component and its bucket");
    p.write_config("dev", &config(&team, "gpu_max_size = 4\ngpu_instance_types = [\"g6.2xlarge\"]\n"));
    let up = p.run(&["up", "--yes", "--json"]).ok();
    assert_eq!(ops_other_than_same(&up), datasets("delete"));
    assert_eq!(team_buckets(&team).await.len(), 1, "only the artifact bucket is left");

    // Destroy leaves nothing.
    let destroyed = p.run(&["destroy", "--yes", "--json"]).ok();
    assert!(destroyed.ops().iter().all(|(_, op)| op == "delete"));
    assert!(team_buckets(&team).await.is_empty());
    let clusters = eks.list_clusters().send().await.unwrap();
    assert!(!clusters.clusters().contains(&cluster_name), "cluster deleted");
    assert_gone(iam.get_role().role_name(&role_name).send().await, "the cluster role");
    let empty = p.run(&["preview", "--json"]).ok();
    assert!(empty.ops().iter().all(|(_, op)| op == "create"), "state is empty after destroy");
}
