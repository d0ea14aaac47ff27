//! Property tests (`cargo xtask fuzz` runs more cases): any stack config
//! file, garbage or nearly right, loads or fails with a message naming the
//! file; it never panics.

use cairn_core::StackName;
use proptest::prelude::*;

/// Lines a config file is made of, right and wrong: known tables and keys
/// with values of every type.
fn line() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("backend"),
        Just("lock_ttl"),
        Just("secrets"),
        Just("region"),
        Just("budget"),
        Just("packs"),
        Just("level"),
        Just("file"),
        Just("team"),
        Just("prices"),
        Just("nat_gateway_gb"),
        Just("max_nodes_per_group"),
    ];
    let value = prop_oneof![
        Just("\"file://.cairn\"".to_owned()),
        Just("\"passphrase\"".to_owned()),
        Just("\"60s\"".to_owned()),
        Just("[]".to_owned()),
        Just("[\"ai\"]".to_owned()),
        Just("true".to_owned()),
        any::<i32>().prop_map(|i| i.to_string()),
        any::<f32>().prop_map(|f| format!("{f:?}")),
        "\"\\PC{0,10}\"".prop_map(|s| s.replace('\\', "")),
    ];
    let table = prop_oneof![
        Just("[provider.aws]"),
        Just("[tags]"),
        Just("[config]"),
        Just("[policy]"),
        Just("[policy.levels]"),
        Just("[policy.settings]"),
        Just("[[policy.exception]]"),
        Just("[[policy.rego]]"),
        Just("[cost]"),
        Just("[cost.usage]"),
        Just("[nonsense]"),
    ];
    prop_oneof![(key, value).prop_map(|(k, v)| format!("{k} = {v}")), table.prop_map(str::to_owned), "\\PC{0,20}"]
}

proptest! {
    #[test]
    fn fuzz_a_stack_config_loads_or_names_its_file(lines in prop::collection::vec(line(), 0..12)) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cairn.dev.toml"), lines.join("\n")).unwrap();
        let stack = StackName::new("dev").unwrap();
        if let Err(e) = cairn::config::load(dir.path(), &stack) {
            let message = format!("{e:#}");
            prop_assert!(message.contains("Cairn.dev.toml"), "{}", message);
        }
    }
}
