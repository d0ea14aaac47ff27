//! Property tests (`cargo xtask fuzz` runs more cases): a `Value` survives
//! the plugin protocol's wire form, markers included.

use cairn_core::Value;
use cairn_proto::convert::{value_from_wire, value_to_wire};
use proptest::prelude::*;

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        (-1e12f64..1e12).prop_map(Value::Float),
        "\\PC{0,12}".prop_map(Value::String),
        Just(Value::Unknown),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::List),
            prop::collection::btree_map("\\PC{0,8}", inner.clone(), 0..5).prop_map(Value::Map),
            inner
                .prop_filter("not already secret", |v| !matches!(v, Value::Secret(_)))
                .prop_map(|v| Value::Secret(Box::new(v))),
        ]
    })
}

proptest! {
    #[test]
    fn fuzz_value_survives_the_wire(v in value()) {
        prop_assert_eq!(value_from_wire(Some(&value_to_wire(&v))), v);
    }
}
