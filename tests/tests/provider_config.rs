//! `[provider.aws]` settings that reach every call: default tags on every
//! taggable resource, and an assumed role that every call runs as.

use cairn_core::{CheckRequest, CreateRequest, DeleteRequest, Provider, ReadRequest, Urn, Value};
use cairn_provider_aws::AwsProvider;
use cairn_tests::{Project, aws_endpoint, platform_config, unique};

#[tokio::test(flavor = "multi_thread")]
async fn default_tags_reach_every_taggable_resource() {
    let (stack, team, owner) = (unique("tags"), unique("tags"), unique("owner"));
    let p = Project::new("test-platform");
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

    let req = || ReadRequest {
        urn: urn.clone(),
        id: Some(created.id.clone()),
        inputs: checked.inputs.clone(),
        outputs: None,
    };
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
    let p = Project::new("test-platform");
    p.write_config(
        &stack,
        &format!(
            "[provider.aws]\nregion = \"us-east-1\"\ndefault_tags = {{ owner = \"{owner}\" }}\n\
             [tags]\nteam = \"{team}\"\ncost-center = \"4711\"\n[config]\n\
             availability_zones = [\"us-east-1a\", \"us-east-1b\"]\nkubernetes_version = \"1.30\"\n"
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

/// The taggable types the example platform does not declare, each created
/// with `default_tags` set and its tags listed through its own service's
/// API: the default reaches every one, and a declared tag of the same key
/// wins. (The platform's types are checked above, as processes.)
#[tokio::test(flavor = "multi_thread")]
async fn default_tags_reach_every_other_taggable_type() {
    use std::collections::BTreeMap;

    use cairn_aws::RoleArgs;
    use cairn_aws::amp::{RuleGroupsNamespaceArgs, WorkspaceArgs};
    use cairn_aws::cloudwatch::{ComparisonOperator, MetricAlarmArgs, Statistic};
    use cairn_aws::dynamodb::{AttributeType, KeyAttribute, TableArgs};
    use cairn_aws::ec2::{SecurityGroupArgs, VpcArgs};
    use cairn_aws::ecr::RepositoryArgs;
    use cairn_aws::iam_extras::{InstanceProfileArgs, OpenIdConnectProviderArgs, PolicyArgs};
    use cairn_aws::kms::KeyArgs;
    use cairn_aws::logs::LogGroupArgs;
    use cairn_aws::policy::{PolicyDocument, Statement};
    use cairn_aws::sagemaker::ModelPackageGroupArgs;
    use cairn_aws::secretsmanager::SecretArgs;
    use cairn_aws::sqs::QueueArgs;
    use cairn_core::Stack;
    use cairn_tests::inprocess::{InProcess, assert_all, ec2_tags};
    use cairn_tests::{Present, hash_tags, sorted};

    let (owner, team, issuer) = (unique("owner"), unique("team"), unique("issuer"));
    let settings = serde_json::json!({"default_tags": {"owner": owner, "team": "ignored"}});
    let h = InProcess::with_settings(settings.clone()).await;
    let declared = [("team", team.as_str())];
    let program = |ctx: &Stack| {
        let vpc = VpcArgs::builder().cidr_block("10.60.0.0/16").build();
        let vpc = ctx.resource("vpc", vpc).unwrap();
        ctx.resource("sg", SecurityGroupArgs::builder().vpc_id(&vpc.id).tags(declared).build()).unwrap();
        let read = PolicyDocument::builder().statement(vec![Statement::allow(["s3:GetObject"], ["arn:aws:s3:::b/*"])]);
        ctx.resource("policy", PolicyArgs::builder().policy(read.build()).tags(declared).build()).unwrap();
        let trust = PolicyDocument::assume_role_for_service("ec2.amazonaws.com");
        let role = ctx.resource("role", RoleArgs::builder().assume_role_policy(trust).build()).unwrap();
        ctx.resource("profile", InstanceProfileArgs::builder().role(&role.name).tags(declared).build()).unwrap();
        let oidc = OpenIdConnectProviderArgs::builder()
            .url(format!("https://oidc.example.com/{issuer}"))
            .client_ids(["sts.amazonaws.com"])
            .thumbprints(["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"])
            .tags(declared)
            .build();
        ctx.resource("oidc", oidc).unwrap();
        ctx.resource("key", KeyArgs::builder().tags(declared).build()).unwrap();
        ctx.resource("queue", QueueArgs::builder().tags(declared).build()).unwrap();
        ctx.resource("logs", LogGroupArgs::builder().tags(declared).build()).unwrap();
        ctx.resource("images", RepositoryArgs::builder().tags(declared).build()).unwrap();
        let table = TableArgs::builder().hash_key(KeyAttribute::new("id", AttributeType::S)).tags(declared).build();
        ctx.resource("table", table).unwrap();
        let alarm = MetricAlarmArgs::builder()
            .namespace("AWS/SQS")
            .metric_name("ApproximateNumberOfMessagesVisible")
            .statistic(Statistic::Maximum)
            .period(60)
            .evaluation_periods(1)
            .threshold(100.0)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .tags(declared)
            .build();
        ctx.resource("alarm", alarm).unwrap();
        let ws = ctx.resource("metrics", WorkspaceArgs::builder().tags(declared).build()).unwrap();
        let rules = RuleGroupsNamespaceArgs::builder()
            .workspace_id(&ws.id)
            .data("groups:\n- name: up\n  rules:\n  - alert: Down\n    expr: up == 0\n")
            .tags(declared)
            .build();
        ctx.resource("rules", rules).unwrap();
        ctx.resource("models", ModelPackageGroupArgs::builder().tags(declared).build()).unwrap();
        let value = cairn_core::Output::secret("s3cr3t".to_owned());
        let secret = SecretArgs::builder().secret_string(value).recovery_window_days(0).tags(declared).build();
        ctx.resource("secret", secret).unwrap();
    };
    assert_all(&h.up(program).await, cairn_engine::Op::Create);

    let config = cairn_tests::sdk_config().await;
    let (ec2, iam) = (aws_sdk_ec2::Client::new(&config), cairn_tests::iam().await);
    let mut listed: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
    let sg = ec2.describe_security_groups().group_ids(h.id("sg").await).send().await.unwrap();
    listed.insert("sg", ec2_tags(sg.security_groups()[0].tags()));
    let policy = iam.list_policy_tags().policy_arn(h.id("policy").await).send().await.unwrap();
    listed.insert("policy", sorted(policy.tags().iter().map(|t| (t.key(), t.value()))));
    let profile = iam.get_instance_profile().instance_profile_name(h.id("profile").await).send().await.unwrap();
    listed.insert("profile", sorted(profile.instance_profile().unwrap().tags().iter().map(|t| (t.key(), t.value()))));
    let arn = h.id("oidc").await;
    let oidc = iam.list_open_id_connect_provider_tags().open_id_connect_provider_arn(arn).send().await.unwrap();
    listed.insert("oidc", sorted(oidc.tags().iter().map(|t| (t.key(), t.value()))));
    let kms = aws_sdk_kms::Client::new(&config);
    let key = kms.list_resource_tags().key_id(h.id("key").await).send().await.unwrap();
    listed.insert("key", sorted(key.tags().iter().map(|t| (t.tag_key(), t.tag_value()))));
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue = sqs.list_queue_tags().queue_url(h.id("queue").await).send().await.unwrap();
    listed.insert("queue", hash_tags(queue.tags()));
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    let arn = h.output("logs", "arn").await;
    let group_tags = logs.list_tags_for_resource().resource_arn(arn.trim_end_matches(":*")).send().await.unwrap();
    listed.insert("logs", hash_tags(group_tags.tags()));
    let ecr = aws_sdk_ecr::Client::new(&config);
    let repo = ecr.list_tags_for_resource().resource_arn(h.output("images", "arn").await).send().await.unwrap();
    let repo_tags = repo.tags().some().unwrap_or_default().iter();
    listed.insert(
        "images",
        sorted(repo_tags.map(|t| (t.key().some().unwrap_or_default(), t.value().some().unwrap_or_default()))),
    );
    let ddb = aws_sdk_dynamodb::Client::new(&config);
    let table = ddb.list_tags_of_resource().resource_arn(h.output("table", "arn").await).send().await.unwrap();
    listed.insert("table", sorted(table.tags().iter().map(|t| (t.key(), t.value()))));
    let cw = aws_sdk_cloudwatch::Client::new(&config);
    let alarm = cw.list_tags_for_resource().resource_arn(h.output("alarm", "arn").await).send().await.unwrap();
    let alarm_tags = alarm.tags().some().unwrap_or_default().iter();
    listed.insert(
        "alarm",
        sorted(alarm_tags.map(|t| (t.key().some().unwrap_or_default(), t.value().some().unwrap_or_default()))),
    );
    let amp = aws_sdk_amp::Client::new(&config);
    for name in ["metrics", "rules"] {
        let got = amp.list_tags_for_resource().resource_arn(h.output(name, "arn").await).send().await.unwrap();
        listed.insert(name, hash_tags(got.tags().some()));
    }
    let sm = aws_sdk_sagemaker::Client::new(&config);
    let got = sm.list_tags().resource_arn(h.output("models", "arn").await).send().await.unwrap();
    let group_tags = got.tags().some().unwrap_or_default().iter();
    listed.insert(
        "models",
        sorted(group_tags.map(|t| (t.key().some().unwrap_or_default(), t.value().some().unwrap_or_default()))),
    );

    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let got = secrets.describe_secret().secret_id(h.id("secret").await).send().await.unwrap();
    listed.insert(
        "secret",
        sorted(got.tags().iter().map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))),
    );

    let want: BTreeMap<String, String> =
        [("owner".to_owned(), owner.clone()), ("team".to_owned(), team.clone())].into();
    assert_eq!(listed.len(), 14, "every type listed: {:?}", listed.keys());
    for (name, tags) in &listed {
        assert_eq!(tags, &want, "`{name}`: the default tag added, the declared `team` kept");
    }
    h.destroy().await;
}
