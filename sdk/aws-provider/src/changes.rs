//! Pure comparisons between old and new inputs (what to add, what to remove)
//! and between live and recorded state.

use std::collections::BTreeMap;
use std::future::Future;

use cairn_aws::eks::Taint;
use cairn_core::ProviderError;

/// What to set and what to remove to turn `old` into `new`: tags, labels, ...
/// Entries whose value is unchanged are left out of both.
pub(crate) fn tag_changes(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let set = new.iter().filter(|(k, v)| old.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let remove = old.keys().filter(|k| !new.contains_key(*k)).cloned().collect();
    (set, remove)
}

/// Turns the live tags `old` into `new` with a service's own calls: `tag`
/// sets (adds or changes) tags, `untag` removes keys. Each runs only when it
/// has something to do, so a type's update says only which calls to make.
pub(crate) async fn retag<TagF, UntagF>(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
    tag: impl FnOnce(BTreeMap<String, String>) -> TagF,
    untag: impl FnOnce(Vec<String>) -> UntagF,
) -> Result<(), ProviderError>
where
    TagF: Future<Output = Result<(), ProviderError>>,
    UntagF: Future<Output = Result<(), ProviderError>>,
{
    let (set, remove) = tag_changes(old, new);
    if !set.is_empty() {
        tag(set).await?;
    }
    if !remove.is_empty() {
        untag(remove).await?;
    }
    Ok(())
}

/// [`retag`] for the services whose `TagResource` and `UntagResource` take
/// the resource's ARN (`resource_arn`, `tags`, `tag_keys`): EKS, AMP,
/// DynamoDB, ECR, CloudWatch and CloudWatch Logs. `$shape` turns the tags to
/// set into the service's own shape (`Result<Option<_>, ProviderError>`).
macro_rules! retag_by_arn {
    ($client:expr, $arn:expr, $old:expr, $new:expr, $shape:expr) => {{
        use $crate::sdk::AwsResultExt as _;
        let arn: &str = $arn;
        $crate::changes::retag(
            $old,
            $new,
            move |set| async move {
                let tags = ($shape)(&set)?;
                $client.tag_resource().resource_arn(arn).set_tags(tags).send().await.aws("TagResource", arn).map(drop)
            },
            move |remove| async move {
                let call = $client.untag_resource().resource_arn(arn).set_tag_keys(Some(remove));
                call.send().await.aws("UntagResource", arn).map(drop)
            },
        )
    }};
}
pub(crate) use retag_by_arn;

/// Taints to add or update and taints to remove. A node holds one taint per
/// key and effect, so a taint is removed only when no new taint has its key
/// and effect (otherwise adding the new one updates it).
pub(crate) fn taint_changes(old: &[Taint], new: &[Taint]) -> (Vec<Taint>, Vec<Taint>) {
    let add = new.iter().filter(|t| !old.contains(t)).cloned().collect();
    let remove = old.iter().filter(|o| !new.iter().any(|n| n.key == o.key && n.effect == o.effect)).cloned().collect();
    (add, remove)
}

/// `live` reordered to follow `recorded`, unknown items last: AWS returns lists
/// (subnets, attached policies, taints) in its own order, which must not look
/// like a change.
pub(crate) fn order_like<T: PartialEq>(live: Vec<T>, recorded: &[T]) -> Vec<T> {
    let mut rest = live;
    let mut ordered = Vec::with_capacity(rest.len());
    for r in recorded {
        if let Some(i) = rest.iter().position(|l| l == r) {
            ordered.push(rest.remove(i));
        }
    }
    ordered.extend(rest);
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_aws::eks::TaintEffect;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn taint(key: &str, value: Option<&str>, effect: TaintEffect) -> Taint {
        Taint { key: key.into(), value: value.map(Into::into), effect }
    }

    #[test]
    fn tag_changes_set_changed_and_new_and_remove_dropped() {
        let (set, remove) =
            tag_changes(&map(&[("a", "1"), ("b", "2"), ("c", "3")]), &map(&[("a", "1"), ("b", "9"), ("d", "4")]));
        assert_eq!(set, map(&[("b", "9"), ("d", "4")]));
        assert_eq!(remove, ["c"]);
        let (set, remove) = tag_changes(&map(&[("a", "1")]), &map(&[("a", "1")]));
        assert!(set.is_empty() && remove.is_empty());
    }

    #[test]
    fn label_changes_cover_clearing_everything() {
        let (set, remove) = tag_changes(&map(&[("workload", "gpu"), ("tier", "a")]), &BTreeMap::new());
        assert!(set.is_empty());
        assert_eq!(remove, ["tier", "workload"]);
    }

    #[test]
    fn taint_changes_update_in_place_and_remove_by_key_and_effect() {
        use TaintEffect::*;
        let old =
            [taint("gpu", Some("true"), NoSchedule), taint("spot", None, NoExecute), taint("x", None, NoSchedule)];
        let new = [
            taint("gpu", Some("false"), NoSchedule),
            taint("spot", None, NoExecute),
            taint("x", None, PreferNoSchedule),
        ];
        let (add, remove) = taint_changes(&old, &new);
        assert_eq!(add, [taint("gpu", Some("false"), NoSchedule), taint("x", None, PreferNoSchedule)]);
        assert_eq!(remove, [taint("x", None, NoSchedule)], "gpu's value changes in place, so it is not removed");
        let (add, remove) = taint_changes(&old, &old);
        assert!(add.is_empty() && remove.is_empty());
    }

    #[test]
    fn live_lists_follow_the_recorded_order() {
        let live = vec!["c", "a", "x", "b"];
        assert_eq!(order_like(live, &["a", "b", "c"]), ["a", "b", "c", "x"]);
        assert_eq!(order_like(vec!["a"], &["b", "a"]), ["a"]);
    }
}
