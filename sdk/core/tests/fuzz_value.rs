//! Property tests (`cargo xtask fuzz` runs more cases): a `Value` survives its
//! JSON form, with its unknown and secret markers.

use cairn_core::Value;
use proptest::prelude::*;

/// Any value, nested a few levels; map keys never look like Cairn's markers.
pub fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        (-1e12f64..1e12).prop_filter("a float, not an integer", |f| f.fract() != 0.0).prop_map(Value::Float),
        "\\PC{0,12}".prop_map(Value::String),
        Just(Value::Unknown),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::List),
            prop::collection::btree_map("[a-z_][a-z0-9_.-]{0,8}", inner.clone(), 0..5).prop_map(Value::Map),
            inner
                .prop_filter("not already secret", |v| !matches!(v, Value::Secret(_)))
                .prop_map(|v| Value::Secret(Box::new(v))),
        ]
    })
}

proptest! {
    #[test]
    fn fuzz_changed_agrees_with_diff(a in value(), b in value()) {
        prop_assert_eq!(Value::changed(Some(&a), Some(&b)), !a.diff(&b).is_empty());
        prop_assert_eq!(Value::changed(Some(&a), Some(&a)), !a.diff(&a).is_empty(), "a value against itself");
    }

    #[test]
    fn fuzz_value_reads_from_json_text_as_from_its_json_form(v in value()) {
        let text = v.to_json().to_string();
        let read: Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(read, Value::from_json(&serde_json::from_str(&text).unwrap()));
    }

    #[test]
    fn fuzz_value_survives_its_json_form(v in value()) {
        prop_assert_eq!(Value::from_json(&v.to_json()), v);
    }

    #[test]
    fn fuzz_any_json_text_reads_as_a_value_or_an_error(text in "\\PC{0,64}") {
        if let Ok(j) = serde_json::from_str::<serde_json::Value>(&text) {
            let v = Value::from_json(&j);
            // Read back, it is stable.
            prop_assert_eq!(Value::from_json(&v.to_json()), v);
        }
    }
}
