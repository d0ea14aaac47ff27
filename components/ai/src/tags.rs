//! Cost-allocation tags every component puts on every resource it declares.
//!
//! The stack's `[tags]` table (in `Cairn.<stack>.toml`) gives `team` and
//! `cost-center`; `environment` defaults to the stack's name. A component
//! refuses to be declared without them, so no untagged GPU spend reaches the
//! bill.

use std::collections::BTreeMap;

use cairn_core::{InvalidArgs, Scope, Stack};

/// The tags every taggable resource a component declares carries.
pub const REQUIRED_COST_TAGS: [&str; 3] = ["team", "cost-center", "environment"];

/// Checks that the stack's tags and a component's own `tags` together give
/// every [`REQUIRED_COST_TAGS`] entry a non-empty value (`environment` always
/// has one: the stack's name).
pub fn check_cost_tags(ctx: &Stack, own: &BTreeMap<String, String>) -> Result<(), InvalidArgs> {
    let stack_tags = ctx.config().tags();
    for key in REQUIRED_COST_TAGS.into_iter().filter(|k| *k != "environment") {
        let value = own.get(key).or_else(|| stack_tags.get(key));
        if value.is_none_or(|v| v.trim().is_empty()) {
            return Err(InvalidArgs::new(
                "tags",
                format!(
                    "lack the cost tag `{key}` (every component tags its resources with team, cost-center and environment)"
                ),
                format!(
                    "add `{key} = \"...\"` under [tags] in {} (for the whole stack), or give it in the component's `tags`",
                    ctx.config().file().display()
                ),
            ));
        }
    }
    Ok(())
}

/// The tags of a resource declared in `scope`: the stack's tags,
/// `environment` (the stack's name unless the stack's tags set it), Cairn's
/// own `cairn:project`, `cairn:stack` and `cairn:component`, then `own`, which
/// wins on conflict.
///
/// ```
/// use cairn_core::{Config, ProjectName, ResourceOptions, Stack, StackName};
/// let cfg = Config::default().with_tags([("team", "ml"), ("cost-center", "4711")]);
/// let ctx = Stack::new(StackName::new("prod").unwrap(), ProjectName::new("ai").unwrap(), cfg);
/// let scope = ctx.component_scope("acme:x:Thing", "thing", ResourceOptions::default()).unwrap();
/// let tags = cairn_ai::cost_tags(&scope, &Default::default());
/// assert_eq!((tags["team"].as_str(), tags["environment"].as_str()), ("ml", "prod"));
/// assert_eq!(tags["cairn:component"], "thing");
/// ```
pub fn cost_tags(scope: &Scope, own: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut tags = scope.config().tags().clone();
    tags.entry("environment".to_owned()).or_insert_with(|| scope.stack_name().as_str().to_owned());
    for (k, v) in [
        ("cairn:project", scope.project_name().as_str()),
        ("cairn:stack", scope.stack_name().as_str()),
        ("cairn:component", scope.name()),
    ] {
        tags.insert(k.to_owned(), v.to_owned());
    }
    tags.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
    tags
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::{Config, ProjectName, StackName};

    fn ctx(tags: &[(&str, &str)]) -> Stack {
        let cfg = Config::new("Cairn.dev.toml", Default::default()).with_tags(tags.iter().copied());
        Stack::new(StackName::new("dev").unwrap(), ProjectName::new("ai").unwrap(), cfg)
    }

    #[test]
    fn a_missing_cost_tag_names_the_file_and_the_fix() {
        let err = check_cost_tags(&ctx(&[("team", "ml")]), &BTreeMap::new()).unwrap_err().to_string();
        assert!(err.contains("cost tag `cost-center`") && err.contains("under [tags] in Cairn.dev.toml"), "{err}");
        let own: BTreeMap<String, String> = [("cost-center".to_owned(), "42".to_owned())].into_iter().collect();
        check_cost_tags(&ctx(&[("team", "ml")]), &own).unwrap();
        assert!(check_cost_tags(&ctx(&[("team", " "), ("cost-center", "1")]), &BTreeMap::new()).is_err());
    }

    #[test]
    fn own_tags_win_and_environment_defaults_to_the_stack() {
        let ctx = ctx(&[("team", "ml"), ("cost-center", "1")]);
        let scope = ctx.component_scope("acme:x:T", "t", Default::default()).unwrap();
        let own: BTreeMap<String, String> = [("team".to_owned(), "search".to_owned())].into_iter().collect();
        let tags = cost_tags(&scope, &own);
        assert_eq!(tags["team"], "search");
        assert_eq!(tags["environment"], "dev");
        assert_eq!(tags["cairn:stack"], "dev");
    }
}
