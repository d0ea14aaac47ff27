//! `[provider.aws]` settings that reach every call: default tags on every
//! taggable resource, and an assumed role that every call runs as.

use cairn_core::{CheckRequest, CreateRequest, DeleteRequest, Provider, ReadRequest, Urn, Value};
use cairn_provider_aws::AwsProvider;
use cairn_tests::{Project, aws_endpoint, platform_config, unique};

#[tokio::test(flavor = "multi_thread")]
async fn default_tags_reach_every_taggable_resource() {
    let (stack, team, owner) = (unique("tags"), unique("tags"), unique("owner"));
    let p = Project::new("ai-platform");
    let config = platform_config(&team, "").replace(
        "[provider.aws]\n",
        &format!("[provider.aws]\ndefault_tags = {{ owner = \"{owner}\", team = \"ignored\" }}\n"),
    );
    p.write_config(&stack, &config);
    p.run(&["up", "--yes", "--stack", &stack]).ok();

    let has_owner = |tags: Vec<(String, String)>, what: &str| {
        assert!(tags.contains(&("owner".to_owned(), owner.clone())), "{what} has the default tag: {tags:?}");
        // The program's own `team` tag wins over the default.
        assert!(tags.contains(&("team".to_owned(), team.clone())), "{what} keeps the declared tag: {tags:?}");
    };
    let iam = cairn_tests::iam().await;
    let roles = cairn_tests::team_roles(&team).await;
    assert_eq!(roles.len(), 2);
    for role in roles {
        let tags = iam.list_role_tags().role_name(&role).send().await.unwrap();
        has_owner(tags.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect(), &role);
    }
    let s3 = cairn_tests::s3().await;
    for bucket in cairn_tests::team_buckets(&team).await {
        let tags = s3.get_bucket_tagging().bucket(&bucket).send().await.unwrap();
        has_owner(tags.tag_set().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect(), &bucket);
    }
    let eks = cairn_tests::eks().await;
    for (cluster, groups) in cairn_tests::team_clusters(&team).await {
        let c = eks.describe_cluster().name(&cluster).send().await.unwrap();
        let tags = c.cluster().and_then(|c| c.tags()).cloned().unwrap_or_default();
        has_owner(tags.into_iter().collect(), &cluster);
        for g in groups {
            let n = eks.describe_nodegroup().cluster_name(&cluster).nodegroup_name(&g).send().await.unwrap();
            let tags = n.nodegroup().and_then(|n| n.tags()).cloned().unwrap_or_default();
            has_owner(tags.into_iter().collect(), &g);
        }
    }
    let again = p.run(&["preview", "--json", "--stack", &stack]).ok();
    assert!(again.ops().iter().all(|(_, op)| op == "same"), "{:?}", again.ops());
    p.run(&["destroy", "--yes", "--stack", &stack]).ok();
}

async fn provider(extra: serde_json::Value) -> AwsProvider {
    let mut config = serde_json::json!({"region": "us-east-1", "endpoint": aws_endpoint()});
    config.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let p = AwsProvider::new();
    p.configure(Value::from_json(&config)).await.unwrap();
    p
}

#[tokio::test(flavor = "multi_thread")]
async fn every_call_runs_as_the_assumed_role() {
    // The emulator keeps one account per assumed role's account: a role
    // created as the deployer in 111111111111 is not in the default account.
    let deployer = provider(serde_json::json!({"assume_role_arn": "arn:aws:iam::111111111111:role/deployer"})).await;
    let default = provider(serde_json::json!({})).await;
    let urn = Urn::parse(&format!("urn:cairn:dev::{}::aws:iam:Role::r", unique("assume"))).unwrap();
    let args = cairn_aws::RoleArgs::builder()
        .assume_role_policy(cairn_aws::PolicyDocument::assume_role_for_service("ec2.amazonaws.com"))
        .build();
    let news = Value::from_serialize(&args).unwrap();
    let checked = deployer.check(CheckRequest { urn: urn.clone(), olds: None, news }).await.unwrap();
    assert!(checked.failures.is_empty(), "{:?}", checked.failures);
    let created = deployer.create(CreateRequest { urn: urn.clone(), inputs: checked.inputs.clone() }).await.unwrap();
    let arn = created.outputs.get("arn").and_then(Value::as_str).unwrap().to_owned();
    assert!(arn.starts_with("arn:aws:iam::111111111111:role/"), "created in the assumed role's account: {arn}");

    let req = || ReadRequest { urn: urn.clone(), id: Some(created.id.clone()), inputs: checked.inputs.clone() };
    assert!(deployer.read(req()).await.unwrap().is_some());
    assert!(default.read(req()).await.unwrap().is_none(), "not in the default account");
    deployer
        .delete(DeleteRequest {
            urn: urn.clone(),
            id: created.id.clone(),
            inputs: checked.inputs.clone(),
            outputs: created.outputs,
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mistyped_setting_is_refused_naming_it() {
    let err =
        AwsProvider::new().configure(Value::from_json(&serde_json::json!({"regoin": "us-east-1"}))).await.unwrap_err();
    assert!(err.message.contains("[provider.aws]") && err.message.contains("`regoin`"), "{err}");
}

/// The example platform with a network of its own: the default tags reach
/// every EC2 resource too (listed through EC2's DescribeTags), and a second
/// preview finds nothing to change.
#[tokio::test(flavor = "multi_thread")]
async fn default_tags_reach_the_platform_network() {
    let (stack, team, owner) = (unique("net"), unique("net"), unique("owner"));
    let p = Project::new("ai-platform");
    p.write_config(
        &stack,
        &format!(
            "[provider.aws]\nregion = \"us-east-1\"\ndefault_tags = {{ owner = \"{owner}\" }}\n[config]\n\
             availability_zones = [\"us-east-1a\", \"us-east-1b\"]\nkubernetes_version = \"1.30\"\nteam = \"{team}\"\n"
        ),
    );
    p.run(&["up", "--yes", "--stack", &stack]).ok();
    let ec2 = cairn_tests::inprocess::ec2().await;
    let tagged = ec2
        .describe_tags()
        .filters(aws_sdk_ec2::types::Filter::builder().name("key").values("owner").build())
        .filters(aws_sdk_ec2::types::Filter::builder().name("value").values(&owner).build())
        .send()
        .await
        .unwrap();
    // EC2 names an elastic IP `elastic-ip` and a NAT gateway `natgateway`; the emulator says
    // `vpc-elastic-ip` and `nat-gateway`.
    let mut kinds: Vec<String> =
        tagged.tags().iter().filter_map(|t| t.resource_type().map(|r| r.as_str().to_owned())).collect();
    kinds.sort();
    let count = |k: &str| kinds.iter().filter(|x| x.replace('-', "").ends_with(&k.replace('-', ""))).count();
    assert_eq!(count("vpc"), 1, "{kinds:?}");
    assert_eq!(count("subnet"), 4, "{kinds:?}");
    assert_eq!(count("internet-gateway"), 1, "{kinds:?}");
    assert_eq!(count("nat-gateway"), 1, "{kinds:?}");
    assert_eq!(count("route-table"), 2, "{kinds:?}");
    assert_eq!(count("elastic-ip"), 1, "{kinds:?}");
    let again = p.run(&["preview", "--json", "--stack", &stack]).ok();
    assert!(again.ops().iter().all(|(_, op)| op == "same"), "{:?}", again.ops());
    p.run(&["destroy", "--yes", "--stack", &stack]).ok();
    let vpcs = ec2
        .describe_vpcs()
        .filters(aws_sdk_ec2::types::Filter::builder().name("tag:owner").values(&owner).build())
        .send()
        .await
        .unwrap();
    assert!(vpcs.vpcs().is_empty(), "destroy removed the network");
}
