//! The IAM extras (managed policy, inline role policy, policy attachment,
//! instance profile, OIDC provider), KMS keys and aliases, SQS queues and
//! CloudWatch log groups against the emulator, in process. For each type:
//! create and read back through the SDK, one in-place update, one replacing
//! change (the old one gone), import by ID into a fresh state (then nothing
//! to do), destroy (gone in the emulator; destroying the original state
//! afterwards finds everything already gone, which is success).

use std::collections::BTreeMap;

use cairn_aws::RoleArgs;
use cairn_aws::iam_extras::{
    InstanceProfileArgs, OpenIdConnectProviderArgs, PolicyArgs, RolePolicyArgs, RolePolicyAttachmentArgs,
};
use cairn_aws::kms::{AliasArgs, KeyArgs, KeySpec, KeyUsage};
use cairn_aws::logs::LogGroupArgs;
use cairn_aws::policy::{PolicyDocument, Principal, Statement};
use cairn_aws::sqs::{QueueArgs, RedrivePolicy};
use cairn_core::Stack;
use cairn_engine::Op;
use cairn_tests::inprocess::{InProcess, assert_all, import_opts, op};
use cairn_tests::{assert_gone, tags, unique};

const ACCOUNT: &str = "123456789012";

/// Reads a policy document as IAM returns it (URL-encoded, or plain from some emulators).
fn iam_doc(raw: &str) -> PolicyDocument {
    let text = if raw.trim_start().starts_with('{') {
        raw.to_owned()
    } else {
        let bytes = raw.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    };
    PolicyDocument::from_aws_json(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn allow(actions: &[&str], resource: &str) -> PolicyDocument {
    PolicyDocument::builder().statement(vec![Statement::allow(actions.iter().copied(), [resource])]).build()
}

fn trust(service: &str) -> PolicyDocument {
    PolicyDocument::assume_role_for_service(service)
}

/// Tags as SQS returns them.
fn string_map(pairs: &[(&str, &str)]) -> std::collections::HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

// ---------------------------------------------------------------------------
// aws:iam:Policy, aws:iam:RolePolicyAttachment, aws:iam:RolePolicy

/// Version 1: the policy and the inline policy as first declared; 2..=6: new
/// documents (in place); 7: a new description and a new inline policy name (replacements).
fn policy_doc(v: u32) -> PolicyDocument {
    let actions: Vec<String> = (1..=v.min(6)).map(|i| format!("s3:GetObjectVersion{i}")).collect();
    let actions: Vec<&str> =
        std::iter::once("s3:GetObject").chain(actions.iter().skip(1).map(String::as_str)).collect();
    allow(&actions, "arn:aws:s3:::artifacts/*")
}

fn iam_program(ctx: &Stack, v: u32, role_name: Option<&str>, ids: Option<&BTreeMap<&str, String>>) {
    // The import program names the role directly: a role's Read reports every attached and inline
    // policy, which the separate types manage here.
    let role: cairn_core::Input<String> = match role_name {
        Some(name) => name.into(),
        None => {
            let role =
                ctx.resource("app-role", RoleArgs::builder().assume_role_policy(trust("ec2.amazonaws.com")).build());
            (&role.expect("declare the role").name).into()
        }
    };
    let policy = ctx
        .resource_with(
            "read",
            PolicyArgs::builder()
                .description(if v >= 7 { "read artifacts, v2" } else { "read artifacts" })
                .policy(policy_doc(v))
                .tags(if v >= 2 { tags(&[("team", "ml"), ("tier", "gold")]) } else { tags(&[("team", "ml")]) })
                .build(),
            import_opts(ids, "read"),
        )
        .expect("declare the policy");
    ctx.resource_with(
        "read-attach",
        RolePolicyAttachmentArgs::builder().role(role.clone()).policy_arn(&policy.arn).build(),
        import_opts(ids, "read-attach"),
    )
    .expect("declare the attachment");
    ctx.resource_with(
        "inline",
        RolePolicyArgs::builder()
            .role(role)
            .name(if v >= 7 { "write-logs-2" } else { "write-logs" })
            .policy(allow(
                if v >= 2 { &["logs:PutLogEvents", "logs:CreateLogStream"][..] } else { &["logs:PutLogEvents"][..] },
                "*",
            ))
            .build(),
        import_opts(ids, "inline"),
    )
    .expect("declare the inline policy");
}

#[tokio::test(flavor = "multi_thread")]
async fn managed_policy_attachment_and_inline_policy_round_trip() {
    let iam = cairn_tests::iam().await;
    let h = InProcess::new().await;
    let ops = h.up(|ctx: &Stack| iam_program(ctx, 1, None, None)).await;
    assert!(ops.iter().all(|(_, o)| *o == Op::Create), "{ops:?}");

    // Create: every declared property, read back.
    let role = h.output("app-role", "name").await;
    let arn = h.id("read").await;
    assert_eq!(arn, h.output("read", "arn").await);
    let got = iam.get_policy().policy_arn(&arn).send().await.unwrap();
    let p = got.policy().unwrap();
    assert_eq!((p.path(), p.description(), p.default_version_id()), (Some("/"), Some("read artifacts"), Some("v1")));
    assert!(p.policy_name().unwrap().starts_with("read-"), "auto-named: {:?}", p.policy_name());
    let version = iam.get_policy_version().policy_arn(&arn).version_id("v1").send().await.unwrap();
    assert_eq!(iam_doc(version.policy_version().unwrap().document().unwrap()), policy_doc(1));
    let listed = iam.list_policy_tags().policy_arn(&arn).send().await.unwrap();
    assert_eq!(listed.tags().iter().map(|t| (t.key(), t.value())).collect::<Vec<_>>(), [("team", "ml")]);
    let attached = iam.list_attached_role_policies().role_name(&role).send().await.unwrap();
    assert_eq!(attached.attached_policies().iter().filter_map(|a| a.policy_arn()).collect::<Vec<_>>(), [arn.as_str()]);
    assert_eq!(h.id("read-attach").await, format!("{role}/{arn}"));
    assert_eq!(h.id("inline").await, format!("{role}:write-logs"));
    let inline = iam.get_role_policy().role_name(&role).policy_name("write-logs").send().await.unwrap();
    assert_eq!(iam_doc(inline.policy_document()), allow(&["logs:PutLogEvents"], "*"));

    // In place: a new default version, tags, the inline document.
    let ops = h.up(|ctx: &Stack| iam_program(ctx, 2, None, None)).await;
    assert_eq!((op(&ops, "read"), op(&ops, "inline"), op(&ops, "read-attach")), (Op::Update, Op::Update, Op::Same));
    assert_eq!(h.id("read").await, arn, "same policy");
    let p = iam.get_policy().policy_arn(&arn).send().await.unwrap();
    assert_eq!(p.policy().unwrap().default_version_id(), Some("v2"));
    let version = iam.get_policy_version().policy_arn(&arn).version_id("v2").send().await.unwrap();
    assert_eq!(iam_doc(version.policy_version().unwrap().document().unwrap()), policy_doc(2));
    let listed = iam.list_policy_tags().policy_arn(&arn).send().await.unwrap();
    assert_eq!(listed.tags().len(), 2);
    let inline = iam.get_role_policy().role_name(&role).policy_name("write-logs").send().await.unwrap();
    assert_eq!(iam_doc(inline.policy_document()), allow(&["logs:PutLogEvents", "logs:CreateLogStream"], "*"));

    // IAM keeps five versions: the oldest non-default one makes room for the sixth.
    for v in 3..=6 {
        assert_eq!(op(&h.up(|ctx: &Stack| iam_program(ctx, v, None, None)).await, "read"), Op::Update);
    }
    let versions = iam.list_policy_versions().policy_arn(&arn).send().await.unwrap();
    let mut ids: Vec<&str> = versions.versions().iter().filter_map(|v| v.version_id()).collect();
    ids.sort_by_key(|id| id.trim_start_matches('v').parse::<u32>().unwrap());
    assert_eq!(ids, ["v2", "v3", "v4", "v5", "v6"], "v1 was pruned");
    assert_eq!(h.output("read", "default_version_id").await, "v6");

    // Replacements: a new description (a new policy, the attachment follows), a new inline name.
    let ops = h.up(|ctx: &Stack| iam_program(ctx, 7, None, None)).await;
    assert_eq!(
        (op(&ops, "read"), op(&ops, "read-attach"), op(&ops, "inline"), op(&ops, "app-role")),
        (Op::Replace, Op::Replace, Op::Replace, Op::Same)
    );
    let new_arn = h.id("read").await;
    assert_ne!(new_arn, arn);
    assert_gone(iam.get_policy().policy_arn(&arn).send().await, "the old policy");
    let attached = iam.list_attached_role_policies().role_name(&role).send().await.unwrap();
    assert_eq!(
        attached.attached_policies().iter().filter_map(|a| a.policy_arn()).collect::<Vec<_>>(),
        [new_arn.as_str()]
    );
    let inline = iam.list_role_policies().role_name(&role).send().await.unwrap();
    assert_eq!(inline.policy_names(), ["write-logs-2"], "the old inline policy is gone");

    // Import into a fresh state, then nothing to do.
    let ids: BTreeMap<&str, String> =
        [("read", new_arn.clone()), ("read-attach", h.id("read-attach").await), ("inline", h.id("inline").await)]
            .into_iter()
            .collect();
    let fresh = h.fresh();
    let ops = fresh.up(|ctx: &Stack| iam_program(ctx, 7, Some(&role), Some(&ids))).await;
    assert!(ops.iter().all(|(_, o)| *o == Op::Import), "{ops:?}");
    assert_all(&fresh.preview_ops(|ctx: &Stack| iam_program(ctx, 7, Some(&role), Some(&ids))).await, Op::Same);

    // Destroy: gone in the emulator; the original state then finds them gone.
    fresh.destroy().await;
    assert_gone(iam.get_policy().policy_arn(&new_arn).send().await, "the policy");
    let attached = iam.list_attached_role_policies().role_name(&role).send().await.unwrap();
    assert!(attached.attached_policies().is_empty());
    assert!(iam.list_role_policies().role_name(&role).send().await.unwrap().policy_names().is_empty());
    h.destroy().await;
    assert_gone(iam.get_role().role_name(&role).send().await, "the role");
}

// ---------------------------------------------------------------------------
// aws:iam:Role

const EKS_CLUSTER_POLICY: &str = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy";
const EKS_WORKER_POLICY: &str = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy";

/// 1: as first declared (auto-named); 2: trust, inline policies, managed
/// policies, description and tags changed (in place); 3: an explicit name
/// (replacement).
fn role_args(v: u32, name: &str) -> RoleArgs {
    let first = v < 2;
    let mut args = RoleArgs::builder()
        .assume_role_policy(trust(if first { "ec2.amazonaws.com" } else { "eks.amazonaws.com" }))
        .inline_policies(if first {
            vec![("read", allow(&["s3:GetObject"], "arn:aws:s3:::models/*"))]
        } else {
            vec![
                ("read", allow(&["s3:GetObject", "s3:ListBucket"], "arn:aws:s3:::models/*")),
                ("logs", allow(&["logs:PutLogEvents"], "*")),
            ]
        })
        .managed_policy_arns(if first { vec![EKS_CLUSTER_POLICY] } else { vec![EKS_CLUSTER_POLICY, EKS_WORKER_POLICY] })
        .description(if first { "serving" } else { "serving, v2" })
        .tags(if first { tags(&[("team", "ml")]) } else { tags(&[("team", "ml"), ("tier", "gold")]) })
        .build();
    if v >= 3 {
        args.name = Some(name.into());
    }
    args
}

fn role_program(ctx: &Stack, v: u32, name: &str, ids: Option<&BTreeMap<&str, String>>) {
    ctx.resource_with("serving", role_args(v, name), import_opts(ids, "serving")).expect("declare the role");
}

/// What IAM says of role `name`: trust policy, description, tags, inline
/// policies and attached policy ARNs (sorted).
type RoleState =
    (PolicyDocument, Option<String>, BTreeMap<String, String>, BTreeMap<String, PolicyDocument>, Vec<String>);

async fn role_state(iam: &aws_sdk_iam::Client, name: &str) -> RoleState {
    let got = iam.get_role().role_name(name).send().await.unwrap();
    let role = got.role().expect("a role");
    let trust = iam_doc(role.assume_role_policy_document().expect("a trust policy"));
    let listed = iam.list_role_tags().role_name(name).send().await.unwrap();
    let tags = listed.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
    let mut inline = BTreeMap::new();
    for policy in iam.list_role_policies().role_name(name).send().await.unwrap().policy_names() {
        let got = iam.get_role_policy().role_name(name).policy_name(policy).send().await.unwrap();
        inline.insert(policy.clone(), iam_doc(got.policy_document()));
    }
    let attached = iam.list_attached_role_policies().role_name(name).send().await.unwrap();
    let mut arns: Vec<String> =
        attached.attached_policies().iter().filter_map(|a| a.policy_arn()).map(str::to_owned).collect();
    arns.sort();
    (trust, role.description().map(str::to_owned), tags, inline, arns)
}

/// The state a role declared with `args` must have in IAM.
fn declared(args: &RoleArgs) -> RoleState {
    let mut arns = args.managed_policy_arns.clone();
    arns.sort();
    let trust = args.assume_role_policy.value().expect("a plain trust policy").clone();
    (trust, args.description.clone(), args.tags.clone(), args.inline_policies.clone(), arns)
}

#[tokio::test(flavor = "multi_thread")]
async fn role_round_trip() {
    let iam = cairn_tests::iam().await;
    let h = InProcess::new().await;
    let name = unique("serving");

    // Create: every declared property, read back.
    assert_all(&h.up(|ctx: &Stack| role_program(ctx, 1, &name, None)).await, Op::Create);
    let auto = h.id("serving").await;
    assert!(auto.starts_with("serving-"), "auto-named: {auto}");
    assert_eq!(h.output("serving", "arn").await, format!("arn:aws:iam::{ACCOUNT}:role/{auto}"));
    assert_eq!(role_state(&iam, &auto).await, declared(&role_args(1, &name)));
    assert_all(&h.preview_ops(|ctx: &Stack| role_program(ctx, 1, &name, None)).await, Op::Same);

    // In place: trust policy, inline policies (one changed, one added), managed policies, description, tags.
    assert_eq!(h.up(|ctx: &Stack| role_program(ctx, 2, &name, None)).await, [("serving".to_owned(), Op::Update)]);
    assert_eq!(h.id("serving").await, auto, "same role");
    assert_eq!(role_state(&iam, &auto).await, declared(&role_args(2, &name)));
    assert_all(&h.preview_ops(|ctx: &Stack| role_program(ctx, 2, &name, None)).await, Op::Same);

    // Replacement: an explicit name. The old role, its policies detached and deleted first, is gone.
    assert_eq!(h.up(|ctx: &Stack| role_program(ctx, 3, &name, None)).await, [("serving".to_owned(), Op::Replace)]);
    assert_eq!(h.id("serving").await, name);
    assert_gone(iam.get_role().role_name(&auto).send().await, "the old role");
    assert_eq!(role_state(&iam, &name).await, declared(&role_args(3, &name)));

    // Import into a fresh state, then nothing to do.
    let ids: BTreeMap<&str, String> = [("serving", name.clone())].into_iter().collect();
    let fresh = h.fresh();
    assert_eq!(
        fresh.up(|ctx: &Stack| role_program(ctx, 3, &name, Some(&ids))).await,
        [("serving".to_owned(), Op::Import)]
    );
    assert_all(&fresh.preview_ops(|ctx: &Stack| role_program(ctx, 3, &name, Some(&ids))).await, Op::Same);

    // Destroy: gone in IAM; the original state then finds it gone.
    fresh.destroy().await;
    assert_gone(iam.get_role().role_name(&name).send().await, "the role");
    h.destroy().await;
}

// ---------------------------------------------------------------------------
// aws:iam:InstanceProfile, aws:iam:OpenIdConnectProvider

const PRINT_A: &str = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";
const PRINT_B: &str = "a031c46782e6e6c662c2c87c76da9aa62ccabd8e";

/// 1: as first declared; 2: the other role, another thumbprint, other tags (in place);
/// 3: another path and another issuer URL (replacements).
fn profile_program(
    ctx: &Stack,
    v: u32,
    issuer: &str,
    roles: Option<(&str, &str)>,
    ids: Option<&BTreeMap<&str, String>>,
) {
    let (first, second): (cairn_core::Input<String>, cairn_core::Input<String>) = match roles {
        Some((a, b)) => (a.into(), b.into()),
        None => {
            let a =
                ctx.resource("node-role", RoleArgs::builder().assume_role_policy(trust("ec2.amazonaws.com")).build());
            let b =
                ctx.resource("node-role-b", RoleArgs::builder().assume_role_policy(trust("ec2.amazonaws.com")).build());
            ((&a.expect("declare a role").name).into(), (&b.expect("declare a role").name).into())
        }
    };
    ctx.resource_with(
        "profile",
        InstanceProfileArgs::builder()
            .path(if v >= 3 { "/cairn/" } else { "/" })
            .role(if v >= 2 { second } else { first })
            .tags(if v >= 2 { tags(&[("team", "infra")]) } else { tags(&[("team", "ml")]) })
            .build(),
        import_opts(ids, "profile"),
    )
    .expect("declare the profile");
    ctx.resource_with(
        "oidc",
        OpenIdConnectProviderArgs::builder()
            .url(if v >= 3 { format!("https://{issuer}-2") } else { format!("https://{issuer}") })
            .client_ids(["sts.amazonaws.com"])
            .thumbprints([if v >= 2 { PRINT_B } else { PRINT_A }])
            .tags(if v >= 2 { tags(&[("team", "infra")]) } else { tags(&[("team", "ml")]) })
            .build(),
        import_opts(ids, "oidc"),
    )
    .expect("declare the OIDC provider");
}

#[tokio::test(flavor = "multi_thread")]
async fn instance_profile_and_oidc_provider_round_trip() {
    let iam = cairn_tests::iam().await;
    let issuer = format!("oidc.eks.us-east-1.amazonaws.com/id/{}", unique("cairn").to_uppercase());
    let h = InProcess::new().await;
    let ops = h.up(|ctx: &Stack| profile_program(ctx, 1, &issuer, None, None)).await;
    assert!(ops.iter().all(|(_, o)| *o == Op::Create), "{ops:?}");

    let (role_a, role_b) = (h.output("node-role", "name").await, h.output("node-role-b", "name").await);
    let profile = h.id("profile").await;
    let got = iam.get_instance_profile().instance_profile_name(&profile).send().await.unwrap();
    let p = got.instance_profile().unwrap();
    assert_eq!(p.path(), "/");
    assert_eq!(p.roles().iter().map(|r| r.role_name()).collect::<Vec<_>>(), [role_a.as_str()]);
    assert_eq!(p.tags().iter().map(|t| (t.key(), t.value())).collect::<Vec<_>>(), [("team", "ml")]);
    let oidc = h.id("oidc").await;
    assert_eq!(oidc, format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer}"));
    assert_eq!(h.output("oidc", "issuer").await, issuer);
    let got = iam.get_open_id_connect_provider().open_id_connect_provider_arn(&oidc).send().await.unwrap();
    assert_eq!(got.url(), Some(issuer.as_str()));
    assert_eq!(
        (got.client_id_list(), got.thumbprint_list()),
        (&["sts.amazonaws.com".to_owned()][..], &[PRINT_A.to_owned()][..])
    );
    let t = iam.list_open_id_connect_provider_tags().open_id_connect_provider_arn(&oidc).send().await.unwrap();
    assert_eq!(t.tags().iter().map(|t| (t.key(), t.value())).collect::<Vec<_>>(), [("team", "ml")]);

    // In place: the profile's role is swapped; the thumbprint and tags change.
    let ops = h.up(|ctx: &Stack| profile_program(ctx, 2, &issuer, None, None)).await;
    assert_eq!((op(&ops, "profile"), op(&ops, "oidc")), (Op::Update, Op::Update));
    let got = iam.get_instance_profile().instance_profile_name(&profile).send().await.unwrap();
    let p = got.instance_profile().unwrap();
    assert_eq!(p.roles().iter().map(|r| r.role_name()).collect::<Vec<_>>(), [role_b.as_str()]);
    assert_eq!(p.tags().iter().map(|t| (t.key(), t.value())).collect::<Vec<_>>(), [("team", "infra")]);
    let got = iam.get_open_id_connect_provider().open_id_connect_provider_arn(&oidc).send().await.unwrap();
    assert_eq!(got.thumbprint_list(), [PRINT_B.to_owned()]);
    let t = iam.list_open_id_connect_provider_tags().open_id_connect_provider_arn(&oidc).send().await.unwrap();
    assert_eq!(t.tags().iter().map(|t| (t.key(), t.value())).collect::<Vec<_>>(), [("team", "infra")]);

    // Replacements: a new path (a new, auto-named profile), a new issuer.
    let ops = h.up(|ctx: &Stack| profile_program(ctx, 3, &issuer, None, None)).await;
    assert_eq!((op(&ops, "profile"), op(&ops, "oidc")), (Op::Replace, Op::Replace));
    let (new_profile, new_oidc) = (h.id("profile").await, h.id("oidc").await);
    assert_ne!(new_profile, profile);
    assert_gone(iam.get_instance_profile().instance_profile_name(&profile).send().await, "the old profile");
    let got = iam.get_instance_profile().instance_profile_name(&new_profile).send().await.unwrap();
    assert_eq!(got.instance_profile().unwrap().path(), "/cairn/");
    assert_eq!(new_oidc, format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer}-2"));
    assert_gone(
        iam.get_open_id_connect_provider().open_id_connect_provider_arn(&oidc).send().await,
        "the old provider",
    );

    // Import into a fresh state, then nothing to do.
    let ids: BTreeMap<&str, String> =
        [("profile", new_profile.clone()), ("oidc", new_oidc.clone())].into_iter().collect();
    let roles = Some((role_a.as_str(), role_b.as_str()));
    let fresh = h.fresh();
    let ops = fresh.up(|ctx: &Stack| profile_program(ctx, 3, &issuer, roles, Some(&ids))).await;
    assert!(ops.iter().all(|(_, o)| *o == Op::Import), "{ops:?}");
    assert_all(&fresh.preview_ops(|ctx: &Stack| profile_program(ctx, 3, &issuer, roles, Some(&ids))).await, Op::Same);

    fresh.destroy().await;
    assert_gone(iam.get_instance_profile().instance_profile_name(&new_profile).send().await, "the profile");
    assert_gone(
        iam.get_open_id_connect_provider().open_id_connect_provider_arn(&new_oidc).send().await,
        "the provider",
    );
    h.destroy().await;
    assert_gone(iam.get_role().role_name(&role_a).send().await, "role a");
    assert_gone(iam.get_role().role_name(&role_b).send().await, "role b");
}

// ---------------------------------------------------------------------------
// aws:kms:Key, aws:kms:Alias

fn key_policy() -> PolicyDocument {
    PolicyDocument::builder()
        .statement(vec![
            Statement::builder()
                .sid("Root")
                .principal(Principal::aws(format!("arn:aws:iam::{ACCOUNT}:root")))
                .action(["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"])
                .resource(["*"])
                .build(),
        ])
        .build()
}

/// 1: as first declared; 2: description, rotation, policy, tags and the alias target (in place);
/// 3: a signing key and another alias name (replacements).
fn kms_program(ctx: &Stack, v: u32, alias: &str, ids: Option<&BTreeMap<&str, String>>) {
    let key = if v >= 3 {
        KeyArgs::builder()
            .description("signing")
            .key_usage(KeyUsage::SignVerify)
            .key_spec(KeySpec::Rsa2048)
            .enable_key_rotation(false)
            .deletion_window_days(7)
            .policy(key_policy())
            .tags([("team", "infra")])
            .build()
    } else if v == 2 {
        KeyArgs::builder()
            .description("artifacts, v2")
            .enable_key_rotation(false)
            .deletion_window_days(7)
            .policy(key_policy())
            .tags([("team", "infra")])
            .build()
    } else {
        KeyArgs::builder().description("artifacts").deletion_window_days(7).tags([("team", "ml")]).build()
    };
    let key = ctx.resource_with("key", key, import_opts(ids, "key")).expect("declare the key");
    let other = ctx
        .resource_with("key-b", KeyArgs::builder().deletion_window_days(7).build(), import_opts(ids, "key-b"))
        .expect("declare");
    // Moving an alias in place (UpdateAlias) fails in the emulator (moto 5.1.22 answers 500):
    // that path is covered by canned responses in the provider's `canned` tests.
    let target = if v >= 3 { &other.key_id } else { &key.key_id };
    ctx.resource_with(
        "alias",
        AliasArgs::builder()
            .name(if v >= 3 { format!("{alias}-2") } else { alias.to_owned() })
            .target_key_id(target)
            .build(),
        import_opts(ids, "alias"),
    )
    .expect("declare the alias");
}

#[tokio::test(flavor = "multi_thread")]
async fn kms_key_and_alias_round_trip() {
    let kms = aws_sdk_kms::Client::new(&cairn_tests::sdk_config().await);
    let alias = format!("alias/{}", unique("cairn"));
    let h = InProcess::new().await;
    let ops = h.up(|ctx: &Stack| kms_program(ctx, 1, &alias, None)).await;
    assert!(ops.iter().all(|(_, o)| *o == Op::Create), "{ops:?}");

    let (key, key_b) = (h.id("key").await, h.id("key-b").await);
    assert_eq!(h.output("key", "key_id").await, key);
    let meta = kms.describe_key().key_id(&key).send().await.unwrap();
    let meta = meta.key_metadata().unwrap();
    assert_eq!(
        (meta.description(), meta.key_usage().map(|u| u.as_str()), meta.key_spec().map(|s| s.as_str())),
        (Some("artifacts"), Some("ENCRYPT_DECRYPT"), Some("SYMMETRIC_DEFAULT"))
    );
    assert_eq!(meta.arn(), Some(h.output("key", "arn").await.as_str()));
    assert!(kms.get_key_rotation_status().key_id(&key).send().await.unwrap().key_rotation_enabled());
    let t = kms.list_resource_tags().key_id(&key).send().await.unwrap();
    assert_eq!(t.tags().iter().map(|t| (t.tag_key(), t.tag_value())).collect::<Vec<_>>(), [("team", "ml")]);
    let target = |aliases: &aws_sdk_kms::operation::list_aliases::ListAliasesOutput, name: &str| {
        aliases
            .aliases()
            .iter()
            .find(|a| a.alias_name() == Some(name))
            .and_then(|a| a.target_key_id())
            .map(str::to_owned)
    };
    let aliases = kms.list_aliases().send().await.unwrap();
    assert_eq!(target(&aliases, &alias), Some(key.clone()));
    assert_eq!(h.id("alias").await, alias);

    // In place: description, rotation, policy, tags.
    let ops = h.up(|ctx: &Stack| kms_program(ctx, 2, &alias, None)).await;
    assert_eq!((op(&ops, "key"), op(&ops, "alias"), op(&ops, "key-b")), (Op::Update, Op::Same, Op::Same));
    let meta = kms.describe_key().key_id(&key).send().await.unwrap();
    assert_eq!(meta.key_metadata().unwrap().description(), Some("artifacts, v2"));
    assert!(!kms.get_key_rotation_status().key_id(&key).send().await.unwrap().key_rotation_enabled());
    let policy = kms.get_key_policy().key_id(&key).policy_name("default").send().await.unwrap();
    assert_eq!(PolicyDocument::from_aws_json(policy.policy().unwrap()).unwrap(), key_policy());
    let t = kms.list_resource_tags().key_id(&key).send().await.unwrap();
    assert_eq!(t.tags().iter().map(|t| (t.tag_key(), t.tag_value())).collect::<Vec<_>>(), [("team", "infra")]);
    assert_eq!(target(&kms.list_aliases().send().await.unwrap(), &alias), Some(key.clone()));

    // Replacements: a signing key (the old one pending deletion), a new alias name (the old one gone).
    let ops = h.up(|ctx: &Stack| kms_program(ctx, 3, &alias, None)).await;
    assert_eq!((op(&ops, "key"), op(&ops, "alias")), (Op::Replace, Op::Replace));
    let new_key = h.id("key").await;
    assert_ne!(new_key, key);
    let old = kms.describe_key().key_id(&key).send().await.unwrap();
    assert_eq!(old.key_metadata().unwrap().key_state().map(|s| s.as_str()), Some("PendingDeletion"));
    let meta = kms.describe_key().key_id(&new_key).send().await.unwrap();
    let meta = meta.key_metadata().unwrap();
    assert_eq!(
        (meta.key_usage().map(|u| u.as_str()), meta.key_spec().map(|s| s.as_str())),
        (Some("SIGN_VERIFY"), Some("RSA_2048"))
    );
    let aliases = kms.list_aliases().send().await.unwrap();
    assert_eq!((target(&aliases, &alias), target(&aliases, &format!("{alias}-2"))), (None, Some(key_b.clone())));

    // Import into a fresh state, then nothing to do.
    let ids: BTreeMap<&str, String> =
        [("key", new_key.clone()), ("key-b", key_b.clone()), ("alias", format!("{alias}-2"))].into_iter().collect();
    let fresh = h.fresh();
    let ops = fresh.up(|ctx: &Stack| kms_program(ctx, 3, &alias, Some(&ids))).await;
    assert!(ops.iter().all(|(_, o)| *o == Op::Import), "{ops:?}");
    assert_all(&fresh.preview_ops(|ctx: &Stack| kms_program(ctx, 3, &alias, Some(&ids))).await, Op::Same);

    fresh.destroy().await;
    for k in [&new_key, &key_b] {
        let meta = kms.describe_key().key_id(k).send().await.unwrap();
        assert_eq!(meta.key_metadata().unwrap().key_state().map(|s| s.as_str()), Some("PendingDeletion"), "{k}");
    }
    assert_eq!(target(&kms.list_aliases().send().await.unwrap(), &format!("{alias}-2")), None, "the alias is gone");
    h.destroy().await;
}

// ---------------------------------------------------------------------------
// aws:sqs:Queue

/// 1: as first declared; 2: timeouts, retention, delay, polling, redrive count, KMS key, tags (in place);
/// 3: an explicit name for `jobs` (replacement).
fn sqs_program(ctx: &Stack, v: u32, jobs_name: &str, ids: Option<&BTreeMap<&str, String>>) {
    let dlq = ctx.resource_with("dlq", QueueArgs::builder().build(), import_opts(ids, "dlq")).expect("declare the DLQ");
    let redrive = |count| RedrivePolicy::builder().dead_letter_target_arn(&dlq.arn).max_receive_count(count).build();
    let jobs = if v >= 2 {
        let b = QueueArgs::builder()
            .visibility_timeout_seconds(120)
            .message_retention_seconds(3600)
            .delay_seconds(5)
            .receive_wait_time_seconds(10)
            .redrive_policy(redrive(5))
            .kms_master_key_id("alias/aws/sqs")
            .tags([("team", "infra")]);
        if v >= 3 { b.name(jobs_name).build() } else { b.build() }
    } else {
        QueueArgs::builder().visibility_timeout_seconds(60).redrive_policy(redrive(3)).tags([("team", "ml")]).build()
    };
    ctx.resource_with("jobs", jobs, import_opts(ids, "jobs")).expect("declare the queue");
    ctx.resource_with("ordered", QueueArgs::builder().fifo(true).build(), import_opts(ids, "ordered"))
        .expect("declare");
}

#[tokio::test(flavor = "multi_thread")]
async fn sqs_queue_round_trip() {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let sqs = aws_sdk_sqs::Client::new(&cairn_tests::sdk_config().await);
    let attrs = |url: String| {
        let sqs = sqs.clone();
        async move {
            let got = sqs.get_queue_attributes().queue_url(url).attribute_names(A::All).send().await.unwrap();
            got.attributes().cloned().unwrap_or_default()
        }
    };
    let jobs_name = unique("cairn-jobs");
    let h = InProcess::new().await;
    let ops = h.up(|ctx: &Stack| sqs_program(ctx, 1, &jobs_name, None)).await;
    assert!(ops.iter().all(|(_, o)| *o == Op::Create), "{ops:?}");

    let (dlq_arn, jobs) = (h.output("dlq", "arn").await, h.id("jobs").await);
    assert_eq!(h.output("jobs", "url").await, jobs);
    let a = attrs(jobs.clone()).await;
    assert_eq!(a[&A::VisibilityTimeout], "60");
    assert_eq!((a[&A::MessageRetentionPeriod].as_str(), a[&A::DelaySeconds].as_str()), ("345600", "0"));
    let redrive: serde_json::Value = serde_json::from_str(&a[&A::RedrivePolicy]).unwrap();
    assert_eq!(redrive["deadLetterTargetArn"], serde_json::json!(dlq_arn));
    assert_eq!(redrive["maxReceiveCount"].to_string().trim_matches('"'), "3");
    let t = sqs.list_queue_tags().queue_url(&jobs).send().await.unwrap();
    assert_eq!(t.tags().cloned().unwrap_or_default(), string_map(&[("team", "ml")]));
    let ordered = h.id("ordered").await;
    assert!(ordered.ends_with(".fifo") && h.output("ordered", "name").await.ends_with(".fifo"), "{ordered}");
    assert_eq!(attrs(ordered.clone()).await.get(&A::FifoQueue).map(String::as_str), Some("true"));

    // In place: every setting, the redrive count, the KMS key and the tags.
    let ops = h.up(|ctx: &Stack| sqs_program(ctx, 2, &jobs_name, None)).await;
    assert_eq!((op(&ops, "jobs"), op(&ops, "dlq"), op(&ops, "ordered")), (Op::Update, Op::Same, Op::Same));
    assert_eq!(h.id("jobs").await, jobs);
    let a = attrs(jobs.clone()).await;
    let get = |k: A| a.get(&k).cloned().unwrap_or_default();
    assert_eq!(
        [
            get(A::VisibilityTimeout),
            get(A::MessageRetentionPeriod),
            get(A::DelaySeconds),
            get(A::ReceiveMessageWaitTimeSeconds)
        ],
        ["120", "3600", "5", "10"]
    );
    assert_eq!(get(A::KmsMasterKeyId), "alias/aws/sqs");
    let redrive: serde_json::Value = serde_json::from_str(&get(A::RedrivePolicy)).unwrap();
    assert_eq!(redrive["maxReceiveCount"].to_string().trim_matches('"'), "5");
    let t = sqs.list_queue_tags().queue_url(&jobs).send().await.unwrap();
    assert_eq!(t.tags().cloned().unwrap_or_default(), string_map(&[("team", "infra")]));

    // Replacement: an explicit name; the old queue is gone.
    let ops = h.up(|ctx: &Stack| sqs_program(ctx, 3, &jobs_name, None)).await;
    assert_eq!(op(&ops, "jobs"), Op::Replace);
    let new_jobs = h.id("jobs").await;
    assert!(new_jobs.ends_with(&format!("/{jobs_name}")), "{new_jobs}");
    assert_gone(sqs.get_queue_attributes().queue_url(&jobs).attribute_names(A::All).send().await, "the old queue");

    // Import into a fresh state, then nothing to do.
    let ids: BTreeMap<&str, String> =
        [("dlq", h.id("dlq").await), ("jobs", new_jobs.clone()), ("ordered", ordered.clone())].into_iter().collect();
    let fresh = h.fresh();
    let ops = fresh.up(|ctx: &Stack| sqs_program(ctx, 3, &jobs_name, Some(&ids))).await;
    assert!(ops.iter().all(|(_, o)| *o == Op::Import), "{ops:?}");
    assert_all(&fresh.preview_ops(|ctx: &Stack| sqs_program(ctx, 3, &jobs_name, Some(&ids))).await, Op::Same);

    fresh.destroy().await;
    for url in ids.values() {
        assert_gone(sqs.get_queue_attributes().queue_url(url).attribute_names(A::All).send().await, url);
    }
    h.destroy().await;
}

// ---------------------------------------------------------------------------
// aws:cloudwatch:LogGroup

/// 1: as first declared; 2: retention and tags (in place); 3: retention removed (in place);
/// 4: an explicit name (replacement).
fn logs_program(ctx: &Stack, v: u32, name: &str, ids: Option<&BTreeMap<&str, String>>) {
    let key =
        ctx.resource_with("logs-key", KeyArgs::builder().deletion_window_days(7).build(), import_opts(ids, "logs-key"));
    let key = key.expect("declare the key");
    let mut args = LogGroupArgs::builder().kms_key_id(&key.arn).build();
    args.retention_in_days = match v {
        1 => Some(7),
        2 => Some(30),
        _ => None,
    };
    args.tags = if v >= 2 { tags(&[("team", "infra")]) } else { tags(&[("team", "ml")]) };
    if v >= 4 {
        args.name = Some(name.into());
    }
    ctx.resource_with("app-logs", args, import_opts(ids, "app-logs")).expect("declare the log group");
}

#[tokio::test(flavor = "multi_thread")]
async fn log_group_round_trip() {
    let logs = aws_sdk_cloudwatchlogs::Client::new(&cairn_tests::sdk_config().await);
    let describe = |name: String| {
        let logs = logs.clone();
        async move {
            let got = logs.describe_log_groups().log_group_name_prefix(&name).send().await.unwrap();
            got.log_groups().iter().find(|g| g.log_group_name() == Some(name.as_str())).cloned()
        }
    };
    let tags_of = |arn: String| {
        let logs = logs.clone();
        async move {
            let got = logs.list_tags_for_resource().resource_arn(arn).send().await.unwrap();
            got.tags().cloned().unwrap_or_default().into_iter().collect::<BTreeMap<_, _>>()
        }
    };
    let name = format!("/cairn-test/{}", unique("app"));
    let h = InProcess::new().await;
    let ops = h.up(|ctx: &Stack| logs_program(ctx, 1, &name, None)).await;
    assert!(ops.iter().all(|(_, o)| *o == Op::Create), "{ops:?}");

    let group = h.id("app-logs").await;
    let arn = h.output("app-logs", "arn").await;
    assert_eq!(arn, format!("arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group}"));
    let g = describe(group.clone()).await.expect("the log group exists");
    assert_eq!(g.retention_in_days(), Some(7));
    assert_eq!(g.kms_key_id(), Some(h.output("logs-key", "arn").await.as_str()));
    assert_eq!(tags_of(arn.clone()).await, tags(&[("team", "ml")]));

    // In place: retention and tags, then no retention at all.
    let ops = h.up(|ctx: &Stack| logs_program(ctx, 2, &name, None)).await;
    assert_eq!((op(&ops, "app-logs"), op(&ops, "logs-key")), (Op::Update, Op::Same));
    assert_eq!(describe(group.clone()).await.unwrap().retention_in_days(), Some(30));
    assert_eq!(tags_of(arn.clone()).await, tags(&[("team", "infra")]));
    assert_eq!(op(&h.up(|ctx: &Stack| logs_program(ctx, 3, &name, None)).await, "app-logs"), Op::Update);
    assert_eq!(describe(group.clone()).await.unwrap().retention_in_days(), None, "kept forever");

    // Replacement: an explicit name; the old group is gone.
    let ops = h.up(|ctx: &Stack| logs_program(ctx, 4, &name, None)).await;
    assert_eq!(op(&ops, "app-logs"), Op::Replace);
    assert_eq!(h.id("app-logs").await, name);
    assert!(describe(group.clone()).await.is_none(), "the old group is gone");
    assert!(describe(name.clone()).await.is_some());

    // Import into a fresh state, then nothing to do.
    let ids: BTreeMap<&str, String> =
        [("logs-key", h.id("logs-key").await), ("app-logs", name.clone())].into_iter().collect();
    let fresh = h.fresh();
    let ops = fresh.up(|ctx: &Stack| logs_program(ctx, 4, &name, Some(&ids))).await;
    assert!(ops.iter().all(|(_, o)| *o == Op::Import), "{ops:?}");
    assert_all(&fresh.preview_ops(|ctx: &Stack| logs_program(ctx, 4, &name, Some(&ids))).await, Op::Same);

    fresh.destroy().await;
    assert!(describe(name.clone()).await.is_none(), "the group is gone");
    h.destroy().await;
}
