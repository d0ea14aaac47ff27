//! Cost-allocation tags every component puts on every resource.

use std::collections::BTreeMap;

use cairn_core::Stack;

/// Tags that let the bill be split by stack, project and component; `extra` wins on conflict.
pub fn cost_tags(ctx: &Stack, component: &str, extra: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut tags: BTreeMap<String, String> = [
        ("cairn:project", ctx.project_name().as_str()),
        ("cairn:stack", ctx.stack_name().as_str()),
        ("cairn:component", component),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    tags.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    tags
}
