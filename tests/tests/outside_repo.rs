//! A platform repository outside Cairn's workspace: it depends on the crates
//! by path, uses a built-in component and one of its own (which renders a
//! manifest into a GitOps repository beside it), and gets its AWS and GitOps
//! plugins with cargo alone (no plugin variable: each plugin is built from the
//! Cairn source the program came from, into the plugin cache).

use std::path::{Path, PathBuf};

use cairn_tests::{Run, s3, unique};

/// The Cairn checkout these tests run from.
fn cairn_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_owned()
}

/// Copies the fixture repository into `dir`, pointing it at this checkout.
fn write_repo(dir: &Path, team: &str) {
    let fixture = cairn_root().join("tests").join("fixtures").join("outside-repo");
    let read = |p: &str| std::fs::read_to_string(fixture.join(p)).expect("fixture file");
    let root = cairn_root().display().to_string();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), read("Cargo.toml.in").replace("@CAIRN@", &root)).unwrap();
    std::fs::write(dir.join("src").join("main.rs"), read("src/main.rs")).unwrap();
    std::fs::write(dir.join("Cairn.dev.toml"), read("Cairn.dev.toml").replace("@TEAM@", team)).unwrap();
    // The same dependency versions as Cairn's own build (cargo prunes what the repo does not use).
    std::fs::copy(cairn_root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
}

/// `cargo ARGS` in the repository, with the emulator's environment and no plugin variable.
fn cargo(dir: &Path, args: &[&str]) -> Run {
    let target = cairn_root().join("target").join("outside-repo");
    // Without the variables cargo set for this test binary, as a person's shell would be.
    let mut cmd = cairn_plugin::source_build::cargo_command(Path::new(
        &std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()),
    ));
    cmd.args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", &target)
        .env("CAIRN_PLUGIN_CACHE", cairn_root().join("target").join("plugin-cache"))
        .env_remove("CAIRN_PLUGIN_AWS")
        .env_remove("CAIRN_PLUGIN_GITOPS")
        .env_remove(cairn_provider_gitops::REPO_VARIABLE)
        .env_remove("CAIRN_PROJECT_DIR");
    cairn_tests::with_emulator(&mut cmd).output().expect("cargo runs").into()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repository_outside_the_workspace_builds_finds_its_plugin_and_runs() {
    let team = unique("outside");
    let repo = tempfile::tempdir().unwrap();
    write_repo(repo.path(), &team);
    let gitops = cairn_tests::gitops_repo(&repo.path().join("gitops"));

    let up = cargo(repo.path(), &["run", "--quiet", "--", "up", "--yes", "--json"]);
    assert_eq!(up.code, 0, "up failed\nstdout:\n{}\nstderr:\n{}", up.stdout, up.stderr);
    let doc = up.json();
    let bucket = doc["outputs"]["raw_bucket"].as_str().expect("raw_bucket output").to_owned();
    assert!(doc["outputs"]["ingest_queue"].as_str().is_some_and(|u| u.contains("ingest-queue")), "{doc:#}");
    let ingest =
        doc["steps"].as_array().unwrap().iter().find(|s| s["type"] == "acme:data:Ingest").expect("the component");
    assert!(ingest["outputs"]["queue_url"].is_string(), "the component records its outputs: {ingest:#}");

    // The component's ConfigMap carries the queue's URL, committed once to the GitOps repository.
    let queue_url = doc["outputs"]["ingest_queue"].as_str().unwrap();
    let manifests = manifest_files(&gitops);
    assert_eq!(manifests.len(), 1, "{manifests:?}");
    let yaml = std::fs::read_to_string(&manifests[0]).unwrap();
    assert!(yaml.contains("kind: ConfigMap") && yaml.contains(queue_url), "{yaml}");
    assert_eq!(cairn_tests::git(&gitops, &["rev-list", "--count", "HEAD"]), "1");
    assert!(cairn_tests::git(&gitops, &["log", "-1", "--format=%s"]).starts_with("cairn up"));

    // The built-in component's defaults hold in the cloud.
    let s3 = s3().await;
    let tags = s3.get_bucket_tagging().bucket(&bucket).send().await.unwrap();
    let tag = |k: &str| tags.tag_set().iter().find(|t| t.key() == k).map(|t| t.value().to_owned());
    assert_eq!((tag("team"), tag("environment")), (Some(team.clone()), Some("dev".to_owned())));
    let versioning = s3.get_bucket_versioning().bucket(&bucket).send().await.unwrap();
    assert_eq!(versioning.status().map(|s| s.as_str()), Some("Enabled"));

    let again = cargo(repo.path(), &["run", "--quiet", "--", "preview", "--json"]).ok();
    assert!(again.ops().iter().all(|(_, op)| op == "same"), "{:?}", again.ops());

    // Its own component refuses bad arguments like a built-in one, before anything is planned.
    let config = std::fs::read_to_string(repo.path().join("Cairn.dev.toml")).unwrap();
    std::fs::write(repo.path().join("Cairn.dev.toml"), format!("{config}\n[config]\nretention_days = 0\n")).unwrap();
    let bad = cargo(repo.path(), &["run", "--quiet", "--", "preview"]);
    assert_ne!(bad.code, 0);
    assert!(
        bad.stderr.contains("component ingest (acme:data:Ingest): `retention_days` is 0; give 1 to 3653"),
        "{}",
        bad.stderr
    );
    std::fs::write(repo.path().join("Cairn.dev.toml"), config).unwrap();

    import_round_trip(repo.path(), &team).await;

    cargo(repo.path(), &["run", "--quiet", "--", "destroy", "--yes"]).ok();
    cairn_tests::assert_gone(s3.get_bucket_versioning().bucket(&bucket).send().await, "the raw bucket");
    assert_eq!(manifest_files(&gitops), Vec::<PathBuf>::new(), "destroy removes the manifest");
    assert_eq!(cairn_tests::git(&gitops, &["rev-list", "--count", "HEAD"]), "2", "one commit for destroy");
}

/// The files under the stack's path of the GitOps repository.
fn manifest_files(gitops: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![gitops.join("clusters").join("dev")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() { dirs.push(path) } else { files.push(path) }
        }
    }
    files
}

/// Resources made behind Cairn's back (a VPC, a role, a bucket and a node
/// group) are adopted with `import --file`, which prints their declarations;
/// pasted into the program, they compile, and `preview` shows no change.
async fn import_round_trip(repo: &Path, team: &str) {
    let sdk = cairn_tests::sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let (iam, eks) = (cairn_tests::iam().await, cairn_tests::eks().await);
    let tag = |k: &str, v: &str| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build();
    let tags = |k: &str, v: &str| {
        aws_sdk_ec2::types::TagSpecification::builder()
            .resource_type(aws_sdk_ec2::types::ResourceType::Vpc)
            .tags(tag(k, v))
            .build()
    };
    let vpc = ec2.create_vpc().cidr_block("10.42.0.0/16").tag_specifications(tags("team", team)).send().await.unwrap();
    let vpc_id = vpc.vpc().and_then(|v| v.vpc_id()).unwrap().to_owned();
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = unique("imported");
    let role_arn = iam
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(trust)
        .description("made in the console")
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_owned();
    let bucket = unique("imported");
    cairn_tests::s3().await.create_bucket().bucket(&bucket).send().await.unwrap();
    // The node group's network and cluster stay out of Cairn.
    let net = ec2.create_vpc().cidr_block("10.43.0.0/16").send().await.unwrap();
    let net = net.vpc().and_then(|v| v.vpc_id()).unwrap();
    let subnet = ec2.create_subnet().vpc_id(net).cidr_block("10.43.1.0/24").send().await.unwrap();
    let subnet = subnet.subnet().and_then(|s| s.subnet_id()).unwrap().to_owned();
    let cluster = unique("imported");
    let vpc_config = aws_sdk_eks::types::VpcConfigRequest::builder().subnet_ids(&subnet).build();
    eks.create_cluster().name(&cluster).role_arn(&role_arn).resources_vpc_config(vpc_config).send().await.unwrap();
    let scaling = aws_sdk_eks::types::NodegroupScalingConfig::builder().min_size(0).max_size(3).desired_size(1).build();
    eks.create_nodegroup()
        .cluster_name(&cluster)
        .nodegroup_name("gpu")
        .node_role(&role_arn)
        .subnets(&subnet)
        .instance_types("g5.xlarge")
        .ami_type(aws_sdk_eks::types::AmiTypes::Al2X8664Gpu)
        .scaling_config(scaling)
        .labels("workload", "gpu")
        .tags("team", team)
        .send()
        .await
        .unwrap();

    let list = repo.join("imports.txt");
    std::fs::write(
        &list,
        format!(
            "# adopted from the console\naws:ec2:Vpc imported-vpc {vpc_id}\naws:iam:Role imported-role {role}\n\
             aws:s3:Bucket imported-bucket {bucket}\naws:eks:NodeGroup imported-nodes {cluster}:gpu\n"
        ),
    )
    .unwrap();

    // A wrong ID is refused before anything is adopted.
    std::fs::write(repo.join("missing.txt"), format!("aws:s3:Bucket gone {bucket}-gone\n")).unwrap();
    let missing = cargo(repo, &["run", "--quiet", "--", "import", "--yes", "--file", "missing.txt"]);
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert!(missing.stderr.contains("missing.txt:1: there is no aws:s3:Bucket with ID"), "{}", missing.stderr);

    let imported = cargo(repo, &["run", "--quiet", "--", "import", "--yes", "--file", "imports.txt"]).ok();
    let code = imported.stdout.clone();
    for expected in [
        "use cairn::aws::ec2::VpcArgs;",
        "let imported_nodes = ctx.resource(",
        ".cidr_block(\"10.42.0.0/16\")",
        &format!(".tags([(\"team\", \"{team}\")])"),
        ".instance_types([\"g5.xlarge\"])",
        ".ami_type(AmiType::Al2X86_64Gpu)",
        ".description(\"made in the console\")",
    ] {
        assert!(code.contains(expected), "`{expected}` missing from the printed code:\n{code}");
    }
    let state = cargo(repo, &["run", "--quiet", "--", "state", "export"]).ok().json();
    let ids: Vec<(&str, &str)> = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| Some((r["urn"].as_str()?.rsplit_once("::")?.1, r["id"].as_str()?)))
        .filter(|(name, _)| name.starts_with("imported-"))
        .collect();
    assert_eq!(ids.len(), 4, "every resource adopted: {ids:?}");
    assert!(ids.contains(&("imported-vpc", vpc_id.as_str())), "{ids:?}");

    // Adopting the same name again is refused.
    let again = cargo(repo, &["run", "--quiet", "--", "import", "--yes", "aws:s3:Bucket", "imported-bucket", &bucket]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("already records"), "{}", again.stderr);

    // Pasted into the program, the code compiles and declares exactly what is live.
    let main = repo.join("src").join("main.rs");
    let source = std::fs::read_to_string(&main).unwrap();
    let marker = "// @IMPORTED@ (the import test pastes what `import` printed here)";
    assert!(source.contains(marker));
    std::fs::write(&main, source.replace(marker, &code)).unwrap();
    let preview = cargo(repo, &["run", "--quiet", "--", "preview", "--json"]);
    assert_eq!(preview.code, 0, "the pasted code builds and previews\n{}\n{code}", preview.stderr);
    let ops = preview.ops();
    assert!(ops.iter().all(|(_, op)| op == "same"), "no change after pasting the code: {ops:?}\n{code}");
    assert_eq!(ops.iter().filter(|(name, _)| name.starts_with("imported-")).count(), 4, "{ops:?}");
    eprintln!("the code `import` printed, pasted into the program:\n{code}");
}
