//! How plans and results look: a tree of resources with markers and property
//! diffs for people, one JSON document for machines. Rendering is not the
//! engine's job; it only reads the plan and the report.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use cairn_core::{DeclaredStack, DiffKind, ResourceKind, Urn, Value};
use cairn_cost::{Monthly, PlanCost};
use cairn_engine::{ApplyReport, Drift, DriftKind, Op, Plan, Status, Step};
use cairn_policy::{Level, PolicyReport, Violation};
use console::Style;
use serde_json::json;

fn op_style(op: Op) -> Style {
    match op {
        Op::Create => Style::new().green(),
        Op::Update => Style::new().yellow(),
        Op::Replace => Style::new().magenta(),
        Op::Delete => Style::new().red(),
        Op::Import => Style::new().cyan(),
        Op::Same => Style::new().dim(),
    }
}

fn op_word(op: Op) -> &'static str {
    op.word()
}

/// Orders steps as a tree: each step after its parent, children indented,
/// siblings in plan order. Linear in the number of steps.
fn tree(steps: &[Step]) -> Vec<(usize, &Step)> {
    fn parent_of(s: &Step) -> Option<&Urn> {
        s.desired().and_then(|n| n.parent.as_ref()).or_else(|| s.recorded().and_then(|o| o.parent.as_ref()))
    }
    let present: std::collections::HashSet<&Urn> = steps.iter().map(|s| &s.urn).collect();
    // A step whose parent has no step of its own is a root.
    let mut children: HashMap<Option<&Urn>, Vec<usize>> = HashMap::new();
    for (i, s) in steps.iter().enumerate() {
        let p = parent_of(s).filter(|p| present.contains(p));
        children.entry(p).or_default().push(i);
    }
    let mut out = Vec::with_capacity(steps.len());
    let mut placed = vec![false; steps.len()];
    // Depth-first without recursion, so a deep tree cannot overflow the stack.
    let mut stack: Vec<(usize, usize)> = children.get(&None).into_iter().flatten().rev().map(|&i| (i, 0)).collect();
    while let Some((i, depth)) = stack.pop() {
        if std::mem::replace(&mut placed[i], true) {
            continue;
        }
        out.push((depth, &steps[i]));
        if let Some(kids) = children.get(&Some(&steps[i].urn)) {
            stack.extend(kids.iter().rev().map(|&k| (k, depth + 1)));
        }
    }
    out
}

/// The steps the display shows: every change, and the components they
/// sit in; unchanged resources only with `show_same`.
fn shown_steps(plan: &Plan, show_same: bool) -> std::collections::HashSet<&Urn> {
    let changed = |s: &Step| s.op() != Op::Same || s.metadata_changed() || plan.moves.iter().any(|m| m.to == s.urn);
    if show_same {
        return plan.steps.iter().map(|s| &s.urn).collect();
    }
    let parent: HashMap<&Urn, &Urn> = plan
        .steps
        .iter()
        .filter_map(|s| {
            Some((&s.urn, s.desired().and_then(|n| n.parent.as_ref()).or_else(|| s.recorded()?.parent.as_ref())?))
        })
        .collect();
    let mut shown = std::collections::HashSet::new();
    for s in plan.steps.iter().filter(|s| changed(s)) {
        let mut at = Some(&s.urn);
        while let Some(u) = at {
            if !shown.insert(u) {
                break;
            }
            at = parent.get(u).copied();
        }
    }
    shown
}

fn show(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "(none)".into(),
        Some(v) => v.to_string(),
    }
}

/// The property changes of an update or replacement: a mark (`+ - ~`) and a line each.
fn diff_lines(s: &Step) -> Vec<(&'static str, String)> {
    if !matches!(s.op(), Op::Update | Op::Replace) {
        return Vec::new();
    }
    let olds = s.recorded().map(|o| &o.inputs);
    let news = s.desired().map(|n| &n.inputs);
    let mut lines = Vec::new();
    for d in &s.diffs {
        // A provider's text diff (a manifest's lines) says more than the two values would.
        if let Some(detail) = &d.detail {
            lines.push(("~", format!("{}:", d.path)));
            lines.extend(detail.lines().map(|l| (" ", format!("  {l}"))));
            continue;
        }
        let old = olds.and_then(|o| o.at(&d.path));
        let new = news.and_then(|n| n.at(&d.path));
        lines.push(match d.kind {
            DiffKind::Add => ("+", format!("{}: {}", d.path, show(new))),
            DiffKind::Delete => ("-", format!("{}: {}", d.path, show(old))),
            DiffKind::Update => ("~", format!("{}: {} => {}", d.path, show(old), show(new))),
        });
    }
    lines
}

/// The plan for a pull-request comment: the summary, a table of the
/// changes, and the property diffs and warnings folded in `<details>`.
pub fn plan_markdown(plan: &Plan, stack: &str, project: &str) -> String {
    let mut out = format!("### Cairn preview of stack `{stack}` (project `{project}`)\n\n");
    let unchanged = plan.steps.iter().filter(|s| s.op() == Op::Same && !s.metadata_changed()).count();
    let changes = changes_text(plan);
    if changes.is_empty() {
        let _ = writeln!(out, "**No changes** ({unchanged} unchanged)");
        return out;
    }
    let _ = writeln!(out, "**{changes}** · {unchanged} unchanged\n");
    out.push_str("| | Resource | Type | Change |\n|---|---|---|---|\n");
    for s in plan.steps.iter().filter(|s| s.op() != Op::Same || s.metadata_changed()) {
        let why = match s.op() {
            Op::Replace => replace_reason(s),
            Op::Import => format!(" (ID `{}`)", s.import_id().unwrap_or("?")),
            Op::Same => " (dependencies or options)".into(),
            _ => String::new(),
        };
        let word = if s.op() == Op::Same { "record" } else { op_word(s.op()) };
        let _ = writeln!(out, "| {} | `{}` | `{}` | {word}{why} |", s.op().marker(), s.urn.name(), s.ty.as_str());
    }
    let detailed: Vec<&Step> =
        plan.steps.iter().filter(|s| !diff_lines(s).is_empty() || !s.warnings.is_empty()).collect();
    if !detailed.is_empty() {
        out.push_str("\n<details><summary>Property changes and warnings</summary>\n\n");
        for s in detailed {
            let _ = writeln!(out, "#### `{}` (`{}`)\n\n```diff", s.urn.name(), s.ty.as_str());
            for (mark, text) in diff_lines(s) {
                // `diff` highlighting knows + and -; an update shows as a change line.
                let mark = if mark == "~" { "!" } else { mark };
                let _ = writeln!(out, "{mark} {text}");
            }
            for w in &s.warnings {
                let _ = writeln!(out, "# warning: {}: {}", w.property, w.reason);
            }
            out.push_str("```\n\n");
        }
        out.push_str("</details>\n");
    }
    out
}

/// The plan for people: the changes, in a tree of their components, and a
/// count of what stays the same (`show_same` lists those too).
pub fn plan_text(plan: &Plan, stack: &str, project: &str, verb: &str, show_same: bool) -> String {
    let shown = shown_steps(plan, show_same);
    let mut out = String::new();
    let _ = writeln!(out, "{verb} of stack {} (project {project})\n", Style::new().bold().apply_to(stack));
    if plan.refresh.is_some() {
        out.push_str(&drift_text(plan));
        out.push('\n');
    }
    for (depth, s) in tree(&plan.steps).into_iter().filter(|(_, s)| shown.contains(&s.urn)) {
        let style = op_style(s.op());
        let indent = "   ".repeat(depth);
        let extra = match s.op() {
            Op::Replace => replace_reason(s),
            Op::Import => format!(" (ID {})", s.import_id().unwrap_or("?")),
            _ => String::new(),
        } + &step_notes(plan, s);
        let _ = writeln!(
            out,
            " {} {indent}{} {}{}",
            style.apply_to(s.op().marker()),
            style.apply_to(s.ty.as_str()),
            s.urn.name(),
            style
                .apply_to(format!(" {}{extra}", if s.op() == Op::Same { "" } else { op_word(s.op()) }))
                .to_string()
                .trim_end()
        );
        for (mark, text) in diff_lines(s) {
            let _ = writeln!(out, "   {indent}    {} {text}", op_style(s.op()).apply_to(mark));
        }
        if let Some(outs) = plan.component_outputs.get(&s.urn) {
            for (k, v) in outs {
                let _ = writeln!(out, "   {indent}    {} {k}: {v}", Style::new().dim().apply_to("output"));
            }
        }
        for w in &s.warnings {
            let _ = writeln!(
                out,
                "   {indent}    {} {}: {}",
                Style::new().yellow().apply_to("warning"),
                w.property,
                w.reason
            );
        }
    }
    if !plan.outputs.is_empty() {
        let _ = writeln!(out, "\nOutputs:");
        for (k, v) in &plan.outputs {
            let _ = writeln!(out, "    {k}: {v}");
        }
    }
    let s = plan.summary();
    let _ = writeln!(out);
    let hidden = plan.steps.len() - shown.len();
    if hidden > 0 {
        let _ = writeln!(out, "{hidden} unchanged resources not shown (--show-same lists them).");
    }
    if s.is_noop() {
        let _ = writeln!(out, "No changes: stack {stack} matches the program ({} unchanged).", s.same);
    } else {
        let imports = if s.import > 0 { format!("{} to import, ", s.import) } else { String::new() };
        let _ = writeln!(
            out,
            "Resources: {imports}{} to create, {} to update, {} to replace, {} to delete, {} unchanged",
            s.create, s.update, s.replace, s.delete, s.same
        );
    }
    out
}

/// What else to know about a step: the name it had (an alias), or that a
/// delete leaves the resource in the cloud.
fn step_notes(plan: &Plan, s: &Step) -> String {
    let mut notes = String::new();
    if let Some(m) = plan.moves.iter().find(|m| m.to == s.urn) {
        let _ = write!(
            notes,
            " (was {})",
            if m.from.type_chain() == s.urn.type_chain() { m.from.name() } else { m.from.as_str() }
        );
    }
    if s.op() == Op::Delete && s.recorded().is_some_and(|r| r.retain_on_delete) {
        notes.push_str(" (retained: left in the cloud)");
    }
    notes
}

/// Why a resource is replaced: the properties that force it, or `--replace`.
fn replace_reason(s: &Step) -> String {
    let instance = |p: Option<&String>| p.map_or_else(|| "the default".to_owned(), |p| format!("`{p}`"));
    let (was, now) = (s.recorded().and_then(|r| r.provider.as_ref()), s.desired().and_then(|d| d.provider.as_ref()));
    let why = if !s.replaces.is_empty() {
        format!("forced by {}", paths(&s.replaces))
    } else if was != now {
        format!("provider instance {} => {}", instance(was), instance(now))
    } else {
        "asked for with --replace".to_owned()
    };
    if s.delete_before_replace() { format!(" (delete first; {why})") } else { format!(" ({why})") }
}

fn paths(p: &[cairn_core::PropertyPath]) -> String {
    p.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

fn step_json(s: &Step, component_outputs: Option<&BTreeMap<String, Value>>) -> serde_json::Value {
    let mut j = json!({
        "urn": s.urn,
        "type": s.ty.as_str(),
        "op": s.op(),
        "changes": s.diffs.iter().map(|d| d.path.to_string()).collect::<Vec<_>>(),
        "replaces": s.replaces.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
    });
    if let Some(id) = s.import_id() {
        j["import_id"] = json!(id);
    }
    let details: serde_json::Map<String, serde_json::Value> =
        s.diffs.iter().filter_map(|d| Some((d.path.to_string(), json!(d.detail.as_ref()?)))).collect();
    if !details.is_empty() {
        j["details"] = details.into();
    }
    if let Some(outs) = component_outputs {
        j["outputs"] = outputs_json(outs);
    }
    j
}

fn outputs_json(outputs: &BTreeMap<String, Value>) -> serde_json::Value {
    outputs.iter().map(|(k, v)| (k.clone(), output_json(v))).collect::<serde_json::Map<_, _>>().into()
}

/// The plan for machines: `preview --json`.
pub fn plan_json(plan: &Plan, stack: &str, project: &str) -> serde_json::Value {
    let mut j = json!({
        "stack": stack,
        "project": project,
        "serial": plan.base_serial,
        "steps": plan.steps.iter().map(|s| step_json(s, plan.component_outputs.get(&s.urn))).collect::<Vec<_>>(),
        "summary": plan.summary(),
        "outputs": outputs_json(&plan.outputs),
    });
    if plan.refresh.is_some() {
        j["drift"] = drift_json(plan);
    }
    j
}

/// What the policies found, for people: a summary line, then each
/// violation with its level, policy, resource, property and fix (waived
/// ones with their exception's reason). Empty when nothing was found.
pub fn policy_text(report: &PolicyReport) -> String {
    if report.violations.is_empty() {
        return String::new();
    }
    let mandatory = report.blocking().count();
    let waived = report.violations.iter().filter(|v| v.waived.is_some()).count();
    let advisory = report.violations.len() - mandatory - waived;
    let mut out = format!(
        "Policies: {} checked on {} resources: {mandatory} mandatory, {advisory} advisory{}\n",
        report.policies,
        report.resources,
        if waived > 0 { format!(", {waived} waived") } else { String::new() }
    );
    for v in &report.violations {
        let (mark, level) = match (&v.waived, v.level) {
            (Some(_), _) => ("~", "waived"),
            (None, Level::Mandatory) => ("✗", "mandatory"),
            (None, _) => ("!", "advisory"),
        };
        let _ = writeln!(out, "  {mark} {level} {}", violation_text(v));
        match &v.waived {
            Some(reason) => {
                let _ = writeln!(out, "      exception: {reason}");
            }
            None => {
                let _ = writeln!(out, "      fix: {}", v.finding.fix);
            }
        }
    }
    out
}

/// One violation on one line: `policy — urn property: message`.
pub fn violation_text(v: &Violation) -> String {
    let property = if v.finding.property.is_empty() { String::new() } else { format!(" {}", v.finding.property) };
    format!("{} — {}{property}: {}", v.policy, v.urn, v.finding.message)
}

/// What the policies found, for machines (the `policy` field of `preview --json`).
pub fn policy_json(report: &PolicyReport) -> serde_json::Value {
    json!({
        "passed": report.passes(),
        "policies": report.policies,
        "resources": report.resources,
        // Keys in sorted order, so the document reads the same whether or not
        // serde_json keeps insertion order.
        "violations": report.violations.iter().map(|v| json!({
            "fix": v.finding.fix,
            "level": v.level.word(),
            "message": v.finding.message,
            "policy": v.policy,
            "property": v.finding.property,
            "urn": v.urn,
            "waived": v.waived,
        })).collect::<Vec<_>>(),
    })
}

/// What the policies found, as a Markdown block for a pull-request comment.
pub fn policy_markdown(report: &PolicyReport) -> String {
    if report.violations.is_empty() {
        return format!("\n**Policies**: {} checked, no violations.\n", report.policies);
    }
    let cell = |s: &str| s.replace('|', "\\|");
    let mut out = String::from(
        "\n#### Policy violations\n\n| Level | Policy | Resource | Property | Finding | Fix |\n|---|---|---|---|---|---|\n",
    );
    for v in &report.violations {
        let level = if v.waived.is_some() { "waived" } else { v.level.word() };
        let fix = v.waived.as_ref().map_or_else(|| v.finding.fix.clone(), |r| format!("exception: {r}"));
        let _ = writeln!(
            out,
            "| {level} | `{}` | `{}` | `{}` | {} | {} |",
            v.policy,
            v.urn,
            v.finding.property,
            cell(&v.finding.message),
            cell(&fix)
        );
    }
    out
}

/// Dollars as people read them: `$1,234.56`.
fn usd(amount: f64) -> String {
    let cents = (amount * 100.0).round() as i64;
    let (sign, cents) = if cents < 0 { ("-", -cents) } else { ("", cents) };
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}${grouped}.{:02}", cents % 100)
}

/// A resource's monthly figure: `$734.38`, `max $2,937.52`, or why there is none.
fn monthly_text(m: Option<&Monthly>) -> String {
    match m {
        None => "—".to_owned(),
        Some(Monthly::Known { desired, max, .. }) if (max - desired).abs() > 0.005 => {
            format!("{} (max {})", usd(*desired), usd(*max))
        }
        Some(Monthly::Known { desired, .. }) => usd(*desired),
        Some(Monthly::NeedsUsage { assumption }) => format!("usage-priced (set [cost.usage] {assumption})"),
        Some(Monthly::Free) => "free".to_owned(),
        Some(Monthly::Unknown { reason }) => format!("unknown: {reason}"),
    }
}

/// The plan's monthly cost, for people: before → after, at maximum scale,
/// the resources whose cost changes, and what could not be priced.
pub fn cost_text(cost: &PlanCost) -> String {
    if cost.resources.is_empty() {
        return String::new();
    }
    let delta = cost.after - cost.before;
    let mut out = format!(
        "Cost (monthly, {}): {} → {} ({}{}); at maximum scale {}\n",
        cost.region,
        usd(cost.before),
        usd(cost.after),
        if delta >= 0.0 { "+" } else { "" },
        usd(delta),
        usd(cost.after_max)
    );
    for r in cost.resources.iter().filter(|r| r.before != r.after) {
        let name = r.urn.rsplit("::").next().unwrap_or(&r.urn);
        let spot = match &r.after {
            Some(Monthly::Known { other_capacity: Some(other), .. }) => {
                format!("; other capacity type {}", usd(*other))
            }
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  {name} ({}): {} → {}{spot}",
            r.ty,
            monthly_text(r.before.as_ref()),
            monthly_text(r.after.as_ref())
        );
    }
    if !cost.unknown.is_empty() {
        let _ = writeln!(out, "  not counted, price unknown: {}", cost.unknown.len());
    }
    for (assumption, n) in &cost.needs_usage {
        let _ = writeln!(out, "  not counted, usage-priced: {n} (set [cost.usage] {assumption})");
    }
    out
}

/// The plan's monthly cost, for machines (the `cost` field of `preview --json`).
pub fn cost_json(cost: &PlanCost) -> serde_json::Value {
    // In cents: sums of floats carry noise no bill has.
    let cents = |x: f64| (x * 100.0).round() / 100.0;
    let monthly = |m: &Option<Monthly>| match m {
        None => serde_json::Value::Null,
        Some(Monthly::Known { desired, max, other_capacity }) => json!({
            "desired": cents(*desired),
            "max": cents(*max),
            "other_capacity": other_capacity.map(cents),
            "status": "known",
        }),
        Some(Monthly::NeedsUsage { assumption }) => json!({"assumption": assumption, "status": "needs_usage"}),
        Some(Monthly::Free) => json!({"status": "free"}),
        Some(Monthly::Unknown { reason }) => json!({"reason": reason, "status": "unknown"}),
    };
    let by_component: BTreeMap<&str, f64> = cost.by_component().into_iter().map(|(c, x)| (c, cents(x))).collect();
    json!({
        "after": cents(cost.after),
        "after_max": cents(cost.after_max),
        "before": cents(cost.before),
        "by_component": by_component,
        "currency": "USD",
        "region": cost.region,
        "resources": cost.resources.iter().map(|r| json!({
            "after": monthly(&r.after),
            "before": monthly(&r.before),
            "component": r.component,
            "type": r.ty,
            "urn": r.urn,
        })).collect::<Vec<_>>(),
    })
}

/// The plan's monthly cost as a Markdown block for a pull-request comment.
pub fn cost_markdown(cost: &PlanCost) -> String {
    if cost.resources.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\n#### Monthly cost ({})\n\n**{} → {}** · at maximum scale {}\n\n| Resource | Type | Before | After |\n|---|---|---|---|\n",
        cost.region,
        usd(cost.before),
        usd(cost.after),
        usd(cost.after_max)
    );
    for r in &cost.resources {
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {} | {} |",
            r.urn.rsplit("::").next().unwrap_or(&r.urn),
            r.ty,
            monthly_text(r.before.as_ref()),
            monthly_text(r.after.as_ref())
        );
    }
    out
}

/// One drifted property: where, and its value in the state, in the cloud and in the program.
struct DriftedProperty {
    path: String,
    recorded: Option<Value>,
    live: Option<Value>,
    program: Option<Value>,
}

/// The program's side of a drifted resource: its planned step, if it still declares it.
fn program_step<'a>(plan: &'a Plan, d: &Drift) -> Option<&'a Step> {
    plan.steps.iter().find(|s| s.urn == d.urn && s.desired().is_some())
}

fn drifted_properties(plan: &Plan, d: &Drift) -> Vec<DriftedProperty> {
    let DriftKind::Changed(props) = &d.kind else { return Vec::new() };
    let desired = program_step(plan, d).and_then(Step::desired);
    props
        .iter()
        .map(|p| DriftedProperty {
            path: p.path.to_string(),
            recorded: p.recorded.clone(),
            live: p.live.clone(),
            program: desired.and_then(|n| n.inputs.at(&p.path)).cloned(),
        })
        .collect()
}

/// What `up` would do about a drifted resource.
fn remedy(plan: &Plan, d: &Drift) -> String {
    match program_step(plan, d).map(Step::op) {
        None => "the program no longer declares it".into(),
        Some(Op::Same) => "the program agrees with the cloud: up records it".into(),
        Some(op) => format!("up will {} it", op_word(op)),
    }
}

fn drift_json(plan: &Plan) -> serde_json::Value {
    let Some(refresh) = &plan.refresh else { return serde_json::Value::Null };
    let (changed, missing) = refresh.counts();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let resources: Vec<serde_json::Value> = refresh
        .drifted
        .iter()
        .map(|d| {
            let props: Vec<serde_json::Value> = drifted_properties(plan, d)
                .into_iter()
                .map(|p| {
                    let shown = |v: &Option<Value>| v.as_ref().map_or(serde_json::Value::Null, output_json);
                    json!({"path": p.path, "recorded": shown(&p.recorded), "live": shown(&p.live), "program": shown(&p.program)})
                })
                .collect();
            json!({
                "urn": d.urn,
                "type": d.ty.as_str(),
                "id": d.id,
                "status": if d.kind == DriftKind::Missing { "missing" } else { "changed" },
                "properties": props,
                "remedy": remedy(plan, d),
            })
        })
        .collect();
    let unreadable: Vec<serde_json::Value> =
        refresh.unreadable.iter().map(|(urn, e)| json!({"urn": urn, "error": e.to_string()})).collect();
    json!({
        "read": refresh.read,
        "changed": changed,
        "missing": missing,
        "resources": resources,
        "unreadable": unreadable,
        "timing": {
            "wall_ms": ms(refresh.timing.wall),
            "slowest_read_ms": refresh.timing.slowest.as_ref().map(|(_, d)| ms(*d)),
            "slowest_read": refresh.timing.slowest.as_ref().map(|(u, _)| u.to_string()),
            "sum_of_reads_ms": ms(refresh.timing.total),
        },
    })
}

/// `drift --json`: what drifted, property by property, and what `up` would do.
pub fn drift_report_json(plan: &Plan, stack: &str, project: &str) -> serde_json::Value {
    json!({
        "stack": stack,
        "project": project,
        "serial": plan.base_serial,
        "drift": drift_json(plan),
        "summary": plan.summary(),
    })
}

/// What the refresh found, for people: each drifted resource, its
/// properties (state → cloud, and the program's value), and what `up` does.
pub fn drift_text(plan: &Plan) -> String {
    let mut out = String::new();
    let Some(refresh) = &plan.refresh else { return out };
    let (changed, missing) = refresh.counts();
    let slowest = refresh
        .timing
        .slowest
        .as_ref()
        .map_or(String::new(), |(u, d)| format!("; slowest read {:.2} s, {}", d.as_secs_f64(), u.name()));
    let _ = writeln!(out, "Read {} resources in {:.2} s{slowest}.", refresh.read, refresh.timing.wall.as_secs_f64());
    for (urn, e) in &refresh.unreadable {
        let _ = writeln!(out, "{} {urn}: {e}", Style::new().red().bold().apply_to("could not read"));
    }
    if refresh.no_drift() {
        let _ = writeln!(
            out,
            "No drift: the cloud matches the state{}.",
            if refresh.unreadable.is_empty() { "" } else { " where it could be read" }
        );
        return out;
    }
    let _ = writeln!(out, "Drift: {changed} changed, {missing} missing\n");
    for d in &refresh.drifted {
        let style = if d.kind == DriftKind::Missing { Style::new().red() } else { Style::new().yellow() };
        let what = if d.kind == DriftKind::Missing { "missing (deleted out of band)" } else { "changed" };
        let _ = writeln!(
            out,
            " {} {} {} {} ({})",
            style.apply_to(if d.kind == DriftKind::Missing { "-" } else { "~" }),
            style.apply_to(d.ty.as_str()),
            d.urn.name(),
            style.apply_to(what),
            remedy(plan, d)
        );
        for p in drifted_properties(plan, d) {
            let _ = writeln!(
                out,
                "       ~ {}: {} => {} (program: {})",
                p.path,
                show(p.recorded.as_ref()),
                show(p.live.as_ref()),
                show(p.program.as_ref())
            );
        }
    }
    out
}

/// What drifted, as Markdown for an issue or a chat message.
pub fn drift_markdown(plan: &Plan, stack: &str, project: &str) -> String {
    let mut out = format!("### Cairn drift report for stack `{stack}` (project `{project}`)\n\n");
    let Some(refresh) = &plan.refresh else { return out };
    let (changed, missing) = refresh.counts();
    for (urn, e) in &refresh.unreadable {
        let _ = writeln!(out, "- **Could not read** `{urn}`: {}\n", e.to_string().replace('\n', " "));
    }
    if refresh.no_drift() {
        let _ = writeln!(
            out,
            "**No drift**: the {} resources read match the state.",
            refresh.read - refresh.unreadable.len()
        );
        return out;
    }
    let _ = writeln!(out, "**{changed} changed, {missing} missing** of {} resources read\n", refresh.read);
    out.push_str("| Resource | Type | Drift | Property | State | Cloud | Program |\n|---|---|---|---|---|---|---|\n");
    let cell = |v: Option<&Value>| format!("`{}`", show(v).replace('|', "\\|"));
    for d in &refresh.drifted {
        let props = drifted_properties(plan, d);
        if props.is_empty() {
            let _ = writeln!(out, "| `{}` | `{}` | missing | | | | {} |", d.urn.name(), d.ty.as_str(), remedy(plan, d));
        }
        for p in props {
            let _ = writeln!(
                out,
                "| `{}` | `{}` | changed | `{}` | {} | {} | {} |",
                d.urn.name(),
                d.ty.as_str(),
                p.path,
                cell(p.recorded.as_ref()),
                cell(p.live.as_ref()),
                cell(p.program.as_ref())
            );
        }
    }
    let changes = changes_text(plan);
    if !changes.is_empty() {
        let _ = writeln!(out, "\n`up --refresh` would put the cloud back to the program: {changes}.");
    }
    out
}

/// The outcome for machines: `up --json` and `destroy --json`.
pub fn report_json(plan: &Plan, report: &ApplyReport, stack: &str, project: &str) -> serde_json::Value {
    let steps: Vec<serde_json::Value> = plan
        .steps
        .iter()
        .zip(&report.outcomes)
        .map(|(s, o)| {
            // A component's outputs as recorded by the run.
            let recorded = match report.state.live(&s.urn) {
                Some(r)
                    if s.kind == cairn_core::ResourceKind::Component && plan.component_outputs.contains_key(&s.urn) =>
                {
                    r.outputs.as_map().cloned()
                }
                _ => None,
            };
            let mut j = step_json(s, recorded.as_ref());
            j["status"] = json!(o.status);
            if let Some(e) = &o.error {
                j["error"] = json!(e);
            }
            j
        })
        .collect();
    json!({
        "stack": stack,
        "project": project,
        "serial": report.state.serial,
        "succeeded": !report.failed(),
        "steps": steps,
        "summary": plan.summary(),
        "outputs": outputs_json(&report.state.outputs),
    })
}

/// The outcome for people.
pub fn report_text(report: &ApplyReport) -> String {
    let mut out = String::new();
    let failed: Vec<_> = report.outcomes.iter().filter(|o| o.status == Status::Failed).collect();
    let skipped = report.outcomes.iter().filter(|o| o.status == Status::Skipped).count();
    let changed = report.outcomes.iter().filter(|o| o.status == Status::Succeeded && o.op != Op::Same).count();
    for o in &failed {
        let _ = writeln!(
            out,
            "{} {}: {}",
            Style::new().red().bold().apply_to("failed"),
            o.urn,
            o.error.as_deref().unwrap_or("")
        );
    }
    if !report.state.outputs.is_empty() {
        let _ = writeln!(out, "Outputs:");
        for (k, v) in &report.state.outputs {
            let _ = writeln!(out, "    {k}: {v}");
        }
    }
    let _ = writeln!(
        out,
        "{}: {changed} changed, {} failed, {skipped} skipped, {} resources in state (serial {})",
        if failed.is_empty() {
            Style::new().green().bold().apply_to("Done")
        } else {
            Style::new().red().bold().apply_to("Failed")
        },
        failed.len(),
        report.state.resources.iter().filter(|r| !r.pending_delete).count(),
        report.state.serial,
    );
    out
}

/// One output as JSON: secrets and unknowns print as their display text, never their value.
pub fn output_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Secret(_) | Value::Unknown => serde_json::Value::String(v.to_string()),
        other if other.contains_secret() => serde_json::Value::String("[secret]".into()),
        other => other.to_json(),
    }
}

/// What a plan would change, counted: `2 to create, 1 to replace`.
pub fn changes_text(plan: &Plan) -> String {
    let s = plan.summary();
    let counts = [
        (s.create, "to create"),
        (s.update, "to update"),
        (s.replace, "to replace"),
        (s.delete, "to delete"),
        (s.import, "to import"),
    ];
    let mut parts: Vec<String> = counts.iter().filter(|(n, _)| *n > 0).map(|(n, what)| format!("{n} {what}")).collect();
    let recorded = plan.steps.iter().filter(|s| s.op() == Op::Same && s.metadata_changed()).count();
    if recorded > 0 {
        parts.push(format!("{recorded} with new dependencies or options to record"));
    }
    if !plan.moves.is_empty() {
        parts.push(format!("{} renamed (aliases)", plan.moves.len()));
    }
    let drifted = plan.refresh.as_ref().map_or(0, |r| r.drifted.len());
    if drifted > 0 {
        parts.push(format!("{drifted} drifted to record"));
    }
    parts.join(", ")
}

/// [`changes_text`], or `no changes` when the plan changes nothing (for a sentence).
pub fn changes_or_none(plan: &Plan) -> String {
    match changes_text(plan) {
        c if c.is_empty() => "no changes".to_owned(),
        c => c,
    }
}

/// The declared resources as a Graphviz DOT graph: an edge from each
/// dependency to what waits for it, dashed from a component to its children.
pub fn graph_dot(declared: &DeclaredStack, stack: &str, project: &str) -> String {
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let quote = |s: &str| format!("\"{}\"", esc(s));
    let mut out = format!("digraph {} {{\n  rankdir=LR;\n  node [shape=box];\n", quote(&format!("{project}/{stack}")));
    for r in &declared.resources {
        let shape = if r.kind == ResourceKind::Component { ", style=rounded" } else { "" };
        // `\n` is DOT's line break inside a label.
        let label = format!("\"{}\\n{}\"", esc(r.urn.resource_type().as_str()), esc(r.urn.name()));
        let _ = writeln!(out, "  {} [label={label}{shape}];", quote(r.urn.as_str()));
    }
    for r in &declared.resources {
        if let Some(p) = &r.parent {
            let _ = writeln!(out, "  {} -> {} [style=dashed];", quote(p.as_str()), quote(r.urn.as_str()));
        }
        for d in &r.dependencies {
            let _ = writeln!(out, "  {} -> {};", quote(d.as_str()), quote(r.urn.as_str()));
        }
    }
    out.push_str("}\n");
    out
}
