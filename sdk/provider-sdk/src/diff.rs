//! Diff from a resource type's schema.

use cairn_core::schema::{Change, ResourceSchema, defaults_of};
use cairn_core::{DiffResponse, PropertyPath, Value};

use crate::typed::TypedArgs;

/// Diff from the type's schema, with the type's own say on replacement order.
pub fn diff<A: TypedArgs>(olds: &Value, news: &Value) -> DiffResponse {
    let mut d = diff_schema(A::SCHEMA, olds, news);
    if !d.replaces.is_empty() && A::replace_deletes_first(olds, news) {
        d.delete_before_replace = true;
    }
    d
}

/// Compares recorded and new inputs property by property, marking the
/// changes the schema says replace the resource.
///
/// A replacement deletes first when the physical name is fixed by the
/// program and unchanged (two resources cannot share it); auto-named
/// resources are replaced create-first under a fresh name.
pub fn diff_schema(schema: &ResourceSchema, olds: &Value, news: &Value) -> DiffResponse {
    let strip = |v: &Value| match v {
        Value::Map(m) => Value::Map(
            m.iter().filter(|(k, _)| !k.starts_with("$cairn.")).map(|(k, v)| (k.clone(), v.clone())).collect(),
        ),
        other => other.clone(),
    };
    let changes = strip(olds).diff(&strip(news));
    let replaces: Vec<PropertyPath> = changes
        .iter()
        .filter(|d| d.path.top().and_then(|t| schema.property(t)).is_some_and(|p| p.change == Change::Replace))
        .map(|d| d.path.clone())
        .collect();
    let delete_before_replace = !replaces.is_empty()
        && schema
            .auto_name
            .is_some_and(|a| !defaults_of(news).contains(a.property) && olds.get(a.property) == news.get(a.property));
    DiffResponse { changes, replaces, delete_before_replace }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests::SCHEMA;
    use serde_json::json;

    #[test]
    fn diff_marks_replacements_and_delete_first_for_fixed_names() {
        let olds = Value::from_json(&json!({"bucket": "b", "region": "a", "tags": {"x": "1"}}));
        let news = Value::from_json(&json!({"bucket": "b", "region": "b", "tags": {"x": "2"}}));
        let d = diff_schema(SCHEMA, &olds, &news);
        assert_eq!(d.changes.len(), 2);
        assert_eq!(d.replaces, vec![PropertyPath::parse("region")]);
        assert!(d.delete_before_replace, "fixed name `b` cannot exist twice");

        let tags_only =
            diff_schema(SCHEMA, &olds, &Value::from_json(&json!({"bucket": "b", "region": "a", "tags": {}})));
        assert!(tags_only.replaces.is_empty() && !tags_only.delete_before_replace);
    }
}
