//! Monthly cost estimates of resources, from a price table shipped as data
//! (`src/prices.toml`: each section with its source and date) that a stack
//! may override (negotiated discounts, another region).
//!
//! An estimate is known (at the size the program asks for and at the most
//! it may scale to), usage-based (priced per GB or request: it takes its
//! usage from the stack's assumptions, and says so when it has none), free,
//! or unknown: an unknown price is never counted as zero.
//!
//! ```
//! use cairn_cost::{Monthly, PriceTable, Usage, estimate};
//! use cairn_core::Value;
//!
//! let prices = PriceTable::shipped();
//! let node_group = Value::from_json(&serde_json::json!({
//!     "instance_types": ["g5.xlarge"], "capacity_type": "ON_DEMAND",
//!     "scaling": {"min_size": 0, "desired_size": 2, "max_size": 4}
//! }));
//! let Monthly::Known { desired, max, .. } = estimate("aws:eks:NodeGroup", &node_group, "us-east-1", &prices, &Usage::default())
//! else { panic!() };
//! assert_eq!((desired.round(), max.round()), (1469.0, 2938.0)); // 2 and 4 × $1.006/h × 730 h
//! ```

use std::collections::BTreeMap;

use cairn_core::Value;
use serde::Deserialize;

/// The shipped table, as text.
const SHIPPED: &str = include_str!("prices.toml");

/// Hourly prices of one instance type.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstancePrice {
    /// On-demand, per hour.
    pub on_demand: f64,
    /// Typical spot, per hour.
    pub spot: f64,
}

/// Where a section's prices come from, and when they were read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The pricing pages.
    pub url: String,
    /// When the prices were read.
    pub date: String,
}

/// One region's prices.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionPrices {
    /// A region whose prices this one lists too, for the entries it does not list itself.
    pub same_as: Option<String>,
    /// Per instance type.
    #[serde(default)]
    pub instances: BTreeMap<String, InstancePrice>,
    /// Per service unit (`eks_cluster_hour`, `nat_gateway_gb`, ...).
    #[serde(default)]
    pub services: BTreeMap<String, f64>,
}

/// The price table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTable {
    /// Hours in a billing month.
    #[serde(default = "hours_per_month")]
    pub hours_per_month: f64,
    /// Sources, by section.
    #[serde(default)]
    pub sources: BTreeMap<String, Source>,
    /// Prices, by region.
    #[serde(default)]
    pub regions: BTreeMap<String, RegionPrices>,
}

fn hours_per_month() -> f64 {
    730.0
}

/// A price file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}: not a price table: {message}; it takes the shape of Cairn's own (docs/cost.md)")]
pub struct PriceError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

impl PriceTable {
    /// The table Cairn ships.
    pub fn shipped() -> Self {
        toml::from_str(SHIPPED).expect("the shipped price table parses (a test checks it)")
    }

    /// This table with the entries of `text` (a file of the same shape,
    /// named `file` in errors) replacing or adding to its own.
    pub fn with_overrides(mut self, file: &str, text: &str) -> Result<Self, PriceError> {
        let over: PriceTable =
            toml::from_str(text).map_err(|e| PriceError { file: file.to_owned(), message: e.to_string() })?;
        self.sources.extend(over.sources);
        for (region, prices) in over.regions {
            let mine = self.regions.entry(region).or_default();
            mine.instances.extend(prices.instances);
            mine.services.extend(prices.services);
            if prices.same_as.is_some() {
                mine.same_as = prices.same_as;
            }
        }
        Ok(self)
    }

    /// An instance type's hourly prices in `region`.
    pub fn instance(&self, region: &str, instance_type: &str) -> Option<InstancePrice> {
        self.lookup(region, |r| r.instances.get(instance_type).copied())
    }

    /// A service unit's price in `region`.
    pub fn service(&self, region: &str, key: &str) -> Option<f64> {
        self.lookup(region, |r| r.services.get(key).copied())
    }

    /// The first price `find` finds in `region` or the regions it is `same_as`
    /// (a few hops at most, so a loop in a user's file ends).
    fn lookup<T>(&self, region: &str, find: impl Fn(&RegionPrices) -> Option<T>) -> Option<T> {
        let mut at = self.regions.get(region)?;
        for _ in 0..4 {
            if let Some(found) = find(at) {
                return Some(found);
            }
            at = self.regions.get(at.same_as.as_deref()?)?;
        }
        None
    }
}

/// Usage the usage-priced items are estimated with: a stack's assumptions.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Usage {
    /// GB a NAT gateway processes in a month.
    pub nat_gateway_gb: Option<f64>,
    /// GB each bucket stores.
    pub s3_gb_per_bucket: Option<f64>,
    /// Millions of writes and reads a table serves in a month.
    pub dynamodb_writes_million: Option<f64>,
    /// Millions of reads.
    pub dynamodb_reads_million: Option<f64>,
    /// Millions of requests a queue serves in a month.
    pub sqs_requests_million: Option<f64>,
    /// Tens of millions of samples a Prometheus workspace ingests in a month.
    pub amp_samples_ten_million: Option<f64>,
    /// GB each log group ingests in a month.
    pub logs_gb_per_group: Option<f64>,
    /// GB of images each container repository stores.
    pub ecr_gb_per_repository: Option<f64>,
}

/// A resource's monthly cost.
#[derive(Debug, Clone, PartialEq)]
pub enum Monthly {
    /// Priced: at the size asked for, and at the most it may scale to;
    /// `other_capacity` is the desired size on the other capacity type
    /// (spot for on-demand, on-demand for spot), for node groups.
    Known {
        /// At the desired size.
        desired: f64,
        /// At the maximum size.
        max: f64,
        /// At the desired size on the other capacity type.
        other_capacity: Option<f64>,
    },
    /// Priced per use, and the stack gives no assumption for it (`[cost]`).
    NeedsUsage {
        /// The assumption to set.
        assumption: &'static str,
    },
    /// Costs nothing by itself (a VPC, a role).
    Free,
    /// No price is known; never counted as zero.
    Unknown {
        /// Why.
        reason: String,
    },
}

/// Types that cost nothing by themselves.
const FREE: &[&str] = &[
    "aws:ec2:Vpc",
    "aws:ec2:Subnet",
    "aws:ec2:RouteTable",
    "aws:ec2:Route",
    "aws:ec2:RouteTableAssociation",
    "aws:ec2:InternetGateway",
    "aws:ec2:SecurityGroup",
    "aws:ec2:SecurityGroupRule",
    "aws:iam:Role",
    "aws:iam:RolePolicy",
    "aws:iam:Policy",
    "aws:iam:RolePolicyAttachment",
    "aws:iam:InstanceProfile",
    "aws:iam:OpenIdConnectProvider",
    "aws:kms:Alias",
    "aws:sagemaker:ModelPackageGroup",
    // The first two action-enabled budgets of an account are free.
    "aws:budgets:Budget",
    "aws:amp:RuleGroupsNamespace",
];

fn int(v: &Value, path: &[&str]) -> Option<f64> {
    let mut at = v;
    for key in path {
        at = at.get(key)?;
    }
    match at {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// The monthly cost of a resource of type `ty` with `inputs`, in `region`.
pub fn estimate(ty: &str, inputs: &Value, region: &str, prices: &PriceTable, usage: &Usage) -> Monthly {
    let hours = prices.hours_per_month;
    let service = |key: &str| prices.service(region, key);
    let unknown = |reason: String| Monthly::Unknown { reason };
    let flat = |key: &str| match service(key) {
        Some(p) => Monthly::Known { desired: p, max: p, other_capacity: None },
        None => unknown(format!("no `{key}` price for {region}")),
    };
    let per_use = |assumption: &'static str, amount: Option<f64>, key: &str| match (amount, service(key)) {
        (None, _) => Monthly::NeedsUsage { assumption },
        (Some(_), None) => unknown(format!("no `{key}` price for {region}")),
        (Some(a), Some(p)) => Monthly::Known { desired: a * p, max: a * p, other_capacity: None },
    };
    match ty {
        "aws:eks:NodeGroup" => {
            let Some(instance) = inputs.get("instance_types").and_then(|l| match l {
                Value::List(l) => l.first().and_then(Value::as_str),
                _ => None,
            }) else {
                return unknown("its instance type is not known yet".into());
            };
            let Some(price) = prices.instance(region, instance) else {
                return unknown(format!("no price for {instance} in {region}"));
            };
            let spot = inputs.get("capacity_type").and_then(Value::as_str) == Some("SPOT");
            let (hourly, other) = if spot { (price.spot, price.on_demand) } else { (price.on_demand, price.spot) };
            let desired = int(inputs, &["scaling", "desired_size"]).unwrap_or(0.0);
            let max = int(inputs, &["scaling", "max_size"]).unwrap_or(desired);
            Monthly::Known {
                desired: hourly * hours * desired,
                max: hourly * hours * max,
                other_capacity: Some(other * hours * desired),
            }
        }
        "aws:eks:Cluster" => match service("eks_cluster_hour") {
            Some(p) => Monthly::Known { desired: p * hours, max: p * hours, other_capacity: None },
            None => unknown(format!("no `eks_cluster_hour` price for {region}")),
        },
        "aws:ec2:NatGateway" => match (service("nat_gateway_hour"), usage.nat_gateway_gb, service("nat_gateway_gb")) {
            (Some(h), Some(gb), Some(p)) => {
                let m = h * hours + gb * p;
                Monthly::Known { desired: m, max: m, other_capacity: None }
            }
            (Some(_), None, _) => Monthly::NeedsUsage { assumption: "nat_gateway_gb" },
            _ => unknown(format!("no NAT gateway prices for {region}")),
        },
        "aws:ec2:Eip" => match service("public_ipv4_hour") {
            Some(p) => Monthly::Known { desired: p * hours, max: p * hours, other_capacity: None },
            None => unknown(format!("no `public_ipv4_hour` price for {region}")),
        },
        "aws:s3:Bucket" => per_use("s3_gb_per_bucket", usage.s3_gb_per_bucket, "s3_standard_gb_month"),
        "aws:sqs:Queue" => per_use("sqs_requests_million", usage.sqs_requests_million, "sqs_requests_million"),
        "aws:amp:Workspace" => {
            per_use("amp_samples_ten_million", usage.amp_samples_ten_million, "amp_samples_ten_million")
        }
        "aws:dynamodb:Table" => match (usage.dynamodb_writes_million, usage.dynamodb_reads_million) {
            (Some(w), Some(r)) => match (service("dynamodb_write_million"), service("dynamodb_read_million")) {
                (Some(pw), Some(pr)) => {
                    Monthly::Known { desired: w * pw + r * pr, max: w * pw + r * pr, other_capacity: None }
                }
                _ => unknown(format!("no DynamoDB prices for {region}")),
            },
            _ => Monthly::NeedsUsage { assumption: "dynamodb_writes_million and dynamodb_reads_million" },
        },
        "aws:cloudwatch:LogGroup" => per_use("logs_gb_per_group", usage.logs_gb_per_group, "logs_ingested_gb"),
        "aws:ecr:Repository" => per_use("ecr_gb_per_repository", usage.ecr_gb_per_repository, "ecr_storage_gb_month"),
        "aws:cloudwatch:MetricAlarm" => flat("cloudwatch_alarm_month"),
        "aws:secretsmanager:Secret" => flat("secret_month"),
        "aws:kms:Key" => flat("kms_key_month"),
        t if FREE.contains(&t) => Monthly::Free,
        // Components, random values and files in a Git repository cost nothing themselves (what a
        // manifest runs is priced by the node pools it runs on).
        t if t.starts_with("cairn:") || t.starts_with("random:") || t.starts_with("gitops:") => Monthly::Free,
        t => unknown(format!("Cairn has no price for {t}")),
    }
}

/// One resource of a plan, as the estimate reads it.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// Its URN.
    pub urn: &'a str,
    /// Its type token.
    pub ty: &'a str,
    /// The component it is declared in, if any (its URN).
    pub component: Option<&'a str>,
    /// Its recorded inputs (`None`: the plan creates it).
    pub old: Option<&'a Value>,
    /// Its inputs after the plan (`None`: the plan deletes it).
    pub new: Option<&'a Value>,
}

/// One resource's cost before and after a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceCost {
    /// Its URN.
    pub urn: String,
    /// Its type token.
    pub ty: String,
    /// The component it is declared in.
    pub component: Option<String>,
    /// Before the plan (`None`: it does not exist yet).
    pub before: Option<Monthly>,
    /// After the plan (`None`: the plan deletes it).
    pub after: Option<Monthly>,
}

/// A plan's monthly cost: per resource, and for the stack before and after.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlanCost {
    /// The region priced.
    pub region: String,
    /// Each resource with a price (free ones left out).
    pub resources: Vec<ResourceCost>,
    /// The stack before the plan, at the sizes recorded.
    pub before: f64,
    /// After the plan, at the sizes asked for.
    pub after: f64,
    /// After the plan, everything at its maximum scale.
    pub after_max: f64,
    /// Resources whose price is unknown, with why (not counted).
    pub unknown: Vec<(String, String)>,
    /// Usage assumptions the stack does not give (`[cost.usage]`), with how many resources need each.
    pub needs_usage: BTreeMap<&'static str, usize>,
}

impl PlanCost {
    /// The `n` resources costing the most after the plan, with their monthly cost.
    pub fn largest(&self, n: usize) -> Vec<(&str, f64)> {
        let mut all: Vec<(&str, f64)> = self
            .resources
            .iter()
            .filter_map(|r| match r.after {
                Some(Monthly::Known { desired, .. }) => Some((r.urn.as_str(), desired)),
                _ => None,
            })
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1));
        all.truncate(n);
        all
    }

    /// The monthly cost after the plan per component (resources outside any under `""`).
    pub fn by_component(&self) -> BTreeMap<&str, f64> {
        let mut out = BTreeMap::new();
        for r in &self.resources {
            if let Some(Monthly::Known { desired, .. }) = r.after {
                *out.entry(r.component.as_deref().unwrap_or("")).or_insert(0.0) += desired;
            }
        }
        out
    }
}

/// Estimates every row of a plan in `region`.
pub fn estimate_plan<'a>(
    rows: impl IntoIterator<Item = Row<'a>>,
    region: &str,
    prices: &PriceTable,
    usage: &Usage,
) -> PlanCost {
    let mut cost = PlanCost { region: region.to_owned(), ..PlanCost::default() };
    for row in rows {
        let before = row.old.map(|v| estimate(row.ty, v, region, prices, usage));
        let after = row.new.map(|v| estimate(row.ty, v, region, prices, usage));
        if let Some(Monthly::Known { desired, .. }) = before {
            cost.before += desired;
        }
        match &after {
            Some(Monthly::Known { desired, max, .. }) => {
                cost.after += desired;
                cost.after_max += max;
            }
            Some(Monthly::Unknown { reason }) => cost.unknown.push((row.urn.to_owned(), reason.clone())),
            Some(Monthly::NeedsUsage { assumption }) => *cost.needs_usage.entry(assumption).or_default() += 1,
            Some(Monthly::Free) | None => {}
        }
        let free = |m: &Option<Monthly>| matches!(m, None | Some(Monthly::Free));
        if !(free(&before) && free(&after)) {
            cost.resources.push(ResourceCost {
                urn: row.urn.to_owned(),
                ty: row.ty.to_owned(),
                component: row.component.map(str::to_owned),
                before,
                after,
            });
        }
    }
    cost
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(j: serde_json::Value) -> Value {
        Value::from_json(&j)
    }

    #[test]
    fn a_handful_of_shipped_prices_are_pinned() {
        let t = PriceTable::shipped();
        assert_eq!(t.instance("us-east-1", "g5.xlarge"), Some(InstancePrice { on_demand: 1.006, spot: 0.4326 }));
        assert_eq!(t.instance("us-east-1", "p5.48xlarge").map(|p| p.on_demand), Some(55.04));
        assert_eq!(t.instance("us-east-1", "g4dn.xlarge").map(|p| p.on_demand), Some(0.526));
        assert_eq!(t.service("us-east-1", "eks_cluster_hour"), Some(0.10));
        assert_eq!(t.service("us-east-1", "nat_gateway_hour"), Some(0.045));
        assert_eq!(t.hours_per_month, 730.0);
        assert!(
            t.sources.values().all(|s| !s.url.is_empty() && s.date.len() == 10),
            "each section names its source and date"
        );
    }

    #[test]
    fn node_groups_at_desired_and_max_on_their_capacity_type() {
        let t = PriceTable::shipped();
        let ng = |capacity: &str| {
            value(serde_json::json!({"instance_types": ["g5.xlarge"], "capacity_type": capacity,
                "scaling": {"min_size": 0, "desired_size": 1, "max_size": 4}}))
        };
        let on_demand = estimate("aws:eks:NodeGroup", &ng("ON_DEMAND"), "us-east-1", &t, &Usage::default());
        let Monthly::Known { desired, max, other_capacity: Some(spot) } = on_demand else { panic!("{on_demand:?}") };
        assert!((desired - 734.38).abs() < 0.01 && (max - 4.0 * desired).abs() < 0.01);
        assert!((spot - 315.798).abs() < 0.01, "{spot}");
        let on_spot = estimate("aws:eks:NodeGroup", &ng("SPOT"), "us-east-1", &t, &Usage::default());
        assert!(matches!(on_spot, Monthly::Known { desired, .. } if (desired - spot).abs() < 1e-9));
    }

    #[test]
    fn unknown_prices_are_unknown_never_zero() {
        let t = PriceTable::shipped();
        let ng =
            value(serde_json::json!({"instance_types": ["x9.huge"], "scaling": {"desired_size": 1, "max_size": 1}}));
        let e = estimate("aws:eks:NodeGroup", &ng, "us-east-1", &t, &Usage::default());
        assert_eq!(e, Monthly::Unknown { reason: "no price for x9.huge in us-east-1".into() });
        let e = estimate("aws:eks:Cluster", &Value::Null, "eu-central-1", &t, &Usage::default());
        assert!(matches!(e, Monthly::Unknown { .. }));
        let e = estimate("aws:new:Thing", &Value::Null, "us-east-1", &t, &Usage::default());
        assert_eq!(e, Monthly::Unknown { reason: "Cairn has no price for aws:new:Thing".into() });
        assert_eq!(estimate("aws:iam:Role", &Value::Null, "us-east-1", &t, &Usage::default()), Monthly::Free);
    }

    #[test]
    fn usage_priced_items_take_the_stacks_assumptions() {
        let t = PriceTable::shipped();
        let none = Usage::default();
        assert_eq!(
            estimate("aws:ec2:NatGateway", &Value::Null, "us-east-1", &t, &none),
            Monthly::NeedsUsage { assumption: "nat_gateway_gb" }
        );
        let usage = Usage { nat_gateway_gb: Some(100.0), s3_gb_per_bucket: Some(1000.0), ..Usage::default() };
        let nat = estimate("aws:ec2:NatGateway", &Value::Null, "us-east-1", &t, &usage);
        assert!(matches!(nat, Monthly::Known { desired, .. } if (desired - (0.045 * 730.0 + 4.5)).abs() < 1e-9));
        let s3 = estimate("aws:s3:Bucket", &Value::Null, "us-east-1", &t, &usage);
        assert!(matches!(s3, Monthly::Known { desired, .. } if (desired - 23.0).abs() < 1e-9));
    }

    #[test]
    fn every_aws_type_is_priced_or_known_to_be_free() {
        let t = PriceTable::shipped();
        for schema in cairn_aws::SCHEMAS {
            let e = estimate(schema.token, &Value::Null, "us-east-1", &t, &Usage::default());
            assert!(
                !matches!(&e, Monthly::Unknown { reason } if reason.starts_with("Cairn has no price")),
                "{}: {e:?}",
                schema.token
            );
        }
    }

    #[test]
    fn a_plan_is_priced_before_and_after_per_component() {
        let t = PriceTable::shipped();
        let small = value(serde_json::json!({"instance_types": ["g5.xlarge"], "capacity_type": "SPOT",
            "scaling": {"desired_size": 1, "max_size": 2}}));
        let big = value(serde_json::json!({"instance_types": ["g5.xlarge"], "capacity_type": "SPOT",
            "scaling": {"desired_size": 2, "max_size": 8}}));
        let rows = [
            Row {
                urn: "u:nodes",
                ty: "aws:eks:NodeGroup",
                component: Some("u:pool"),
                old: Some(&small),
                new: Some(&big),
            },
            Row { urn: "u:cluster", ty: "aws:eks:Cluster", component: None, old: None, new: Some(&Value::Null) },
            Row { urn: "u:bucket", ty: "aws:s3:Bucket", component: None, old: None, new: Some(&Value::Null) },
            Row { urn: "u:role", ty: "aws:iam:Role", component: None, old: None, new: Some(&Value::Null) },
            Row { urn: "u:gone", ty: "aws:kms:Key", component: None, old: Some(&Value::Null), new: None },
        ];
        let cost = estimate_plan(rows, "us-east-1", &t, &Usage::default());
        let node = 0.4326 * 730.0;
        assert!((cost.before - (node + 1.0)).abs() < 1e-6, "{cost:?}");
        assert!((cost.after - (2.0 * node + 73.0)).abs() < 1e-6, "{cost:?}");
        assert!((cost.after_max - (8.0 * node + 73.0)).abs() < 1e-6, "{cost:?}");
        assert_eq!(cost.needs_usage.get("s3_gb_per_bucket"), Some(&1));
        assert_eq!(cost.resources.len(), 4, "the role is free and left out");
        assert_eq!(cost.largest(1)[0].0, "u:nodes");
        assert!((cost.by_component()["u:pool"] - 2.0 * node).abs() < 1e-6);
    }

    #[test]
    fn a_users_file_overrides_prices() {
        let t = PriceTable::shipped()
            .with_overrides(
                "discounts.toml",
                "[regions.us-east-1.instances]\n\"g5.xlarge\" = { on_demand = 0.80, spot = 0.35 }\n\
                 [regions.eu-central-1.services]\neks_cluster_hour = 0.10\n",
            )
            .unwrap();
        assert_eq!(t.instance("us-east-1", "g5.xlarge").unwrap().on_demand, 0.80);
        assert_eq!(t.instance("us-east-1", "g5.2xlarge").unwrap().on_demand, 1.212, "the rest stays");
        assert_eq!(t.service("eu-central-1", "eks_cluster_hour"), Some(0.10));
        let e = PriceTable::shipped().with_overrides("bad.toml", "[regions.x]\nprices = 1\n").unwrap_err().to_string();
        assert!(e.starts_with("bad.toml: not a price table"), "{e}");
    }
}
