//! `config get | set | rm` on a stack's file, as CI and people use them: one
//! value changed with the file's comments kept; a secret sealed in the file
//! with the stack's passphrase, read by the program as a secret, and never
//! written or printed in plain text.

use cairn_tests::{Project, platform_config, unique};

const TOKEN: &str = "xoxb-c0nfig-s3cr3t-4242";

#[tokio::test(flavor = "multi_thread")]
async fn config_commands_edit_one_value_and_seal_secrets() {
    let (stack, team) = (unique("cfg"), unique("cfg"));
    let p = Project::new("test-platform");
    let file = p.dir.path().join(format!("Cairn.{stack}.toml"));
    let config = format!(
        "# Who owns this stack.\nsecrets = \"passphrase\"\n{}# GPU cap, raised for the launch.\ngpu_max_size = 2\n",
        platform_config(&team, "")
    );
    p.write_config(&stack, &config);
    let run = |args: &[&str]| {
        let mut a = args.to_vec();
        a.extend(["--stack", stack.as_str()]);
        let run: cairn_tests::Run = p.command(&a).env("CAIRN_PASSPHRASE", "correct horse").output().unwrap().into();
        assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN), "printed in plain text: {run:?}");
        run
    };

    // A plain value: only its line changes, comments kept.
    run(&["config", "set", "gpu_max_size", "3"]).ok();
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text, config.replace("gpu_max_size = 2", "gpu_max_size = 3"));
    assert_eq!(run(&["config", "get", "gpu_max_size"]).ok().stdout.trim(), "3");

    // A secret: sealed in the file, opened for the program, sent to Secrets Manager only.
    run(&["config", "set", "alerts_webhook", TOKEN, "--secret"]).ok();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("alerts_webhook = { secret = \"cairn:pp1:") && !text.contains(TOKEN), "{text}");
    let up = run(&["up", "--yes", "--json"]).ok();
    assert_eq!(up.json()["outputs"]["alerts_webhook"], "[secret]");
    let arn = up.json()["outputs"]["alerts_webhook_secret"].as_str().unwrap().to_owned();
    let sm = aws_sdk_secretsmanager::Client::new(&cairn_tests::sdk_config().await);
    let stored = sm.get_secret_value().secret_id(&arn).send().await.unwrap();
    assert_eq!(stored.secret_string(), Some(TOKEN));
    let eks = cairn_tests::eks().await;
    let clusters = cairn_tests::team_clusters(&team).await;
    let (cluster, groups) = &clusters[0];
    let ng = eks.describe_nodegroup().cluster_name(cluster).nodegroup_name(&groups[0]).send().await.unwrap();
    assert_eq!(ng.nodegroup.unwrap().scaling_config().unwrap().max_size(), Some(3), "the program read the new value");

    // Removing a key; refusals name the fix and change nothing.
    run(&["config", "rm", "gpu_max_size"]).ok();
    assert!(!std::fs::read_to_string(&file).unwrap().contains("gpu_max_size"));
    let missing = run(&["config", "get", "gpu_max_size"]);
    assert!(missing.code != 0 && missing.stderr.contains("config set gpu_max_size VALUE"), "{}", missing.stderr);
    let bad = run(&["config", "set", "a.b", "1"]);
    assert!(bad.code != 0 && bad.stderr.contains("not a config key"), "{}", bad.stderr);
    run(&["destroy", "--yes"]).ok();
}

#[test]
fn a_secret_needs_the_stacks_secrets_mode() {
    let stack = unique("cfg");
    let p = Project::new("test-platform");
    p.write_config(&stack, &platform_config("t", ""));
    let before = std::fs::read_to_string(p.dir.path().join(format!("Cairn.{stack}.toml"))).unwrap();
    let run: cairn_tests::Run =
        p.command(&["config", "set", "token", TOKEN, "--secret", "--stack", &stack]).output().unwrap().into();
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("set `secrets = \"passphrase\"`"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(p.dir.path().join(format!("Cairn.{stack}.toml"))).unwrap(), before);
}
