//! `aws:ec2:*`: VPC networking — VPCs, subnets, gateways, elastic IPs, route
//! tables, routes, route table associations, security groups and their rules.
//!
//! Security group rules are resources of their own ([`SecurityGroupRuleArgs`]),
//! never inline in a group, so that adding one rule never rewrites the others.

use std::collections::BTreeMap;

use cairn_core::schema::TypedArgs;
use cairn_core::{CheckFailure, Input};
use serde::{Deserialize, Serialize};
use typed_builder::TypedBuilder;

use crate::failure;

/// The longest security group name EC2 accepts.
const MAX_SECURITY_GROUP_NAME: usize = 255;
/// The longest security group or rule description EC2 accepts.
const MAX_DESCRIPTION: usize = 255;
/// The smallest and largest VPC and subnet prefix lengths EC2 accepts.
const NETWORK_PREFIXES: std::ops::RangeInclusive<u8> = 16..=28;

/// The description of a security group when the program gives none.
pub const DEFAULT_SECURITY_GROUP_DESCRIPTION: &str = "Managed by Cairn";

fn default_description() -> String {
    DEFAULT_SECURITY_GROUP_DESCRIPTION.to_owned()
}

// ---------------------------------------------------------------------------
// aws:ec2:Vpc

/// The arguments of a VPC.
///
/// ```
/// use cairn_aws::VpcArgs;
/// let vpc = VpcArgs::builder().cidr_block("10.0.0.0/16").tags([("team", "ml")]).build();
/// assert!(vpc.enable_dns_support && vpc.enable_dns_hostnames && vpc.validate().is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "A VPC. Its IPv4 range is fixed at creation; the DNS settings and tags are updated in place.",
    outputs = VpcOutputs
)]
pub struct VpcArgs {
    /// The IPv4 range, e.g. `10.0.0.0/16` (a /16 to a /28). Changing it replaces the VPC.
    #[builder(setter(into))]
    #[args(replace)]
    pub cidr_block: Input<String>,
    /// Resolve DNS names through the Amazon-provided DNS server (on unless turned off).
    #[builder(default = true)]
    #[serde(default = "crate::default_true")]
    pub enable_dns_support: bool,
    /// Give instances public DNS host names (on unless turned off; needs `enable_dns_support`).
    #[builder(default = true)]
    #[serde(default = "crate::default_true")]
    pub enable_dns_hostnames: bool,
    /// Tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(tags)
    }))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

cairn_core::resource! {
    /// A VPC, as declared: its URN and typed outputs.
    Vpc, token = "aws:ec2:Vpc", args = VpcArgs, outputs = VpcOutputs {
        /// The VPC ID, `vpc-...` (what a subnet's `vpc_id` takes).
        id: String,
        /// The VPC ARN.
        arn: String,
        /// The IPv4 range.
        cidr_block: String,
        /// The ID of the security group EC2 created with the VPC.
        default_security_group_id: String,
    }
}

impl VpcArgs {
    /// Checks what EC2 would refuse later, with the fix in each message.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        check_network(self.cidr_block.value(), "cidr_block", &mut failures);
        if self.enable_dns_hostnames && !self.enable_dns_support {
            failures.push(failure(
                "enable_dns_hostnames",
                "DNS host names need DNS support: set enable_dns_support to true, or enable_dns_hostnames to false",
            ));
        }
        failures
    }
}

// ---------------------------------------------------------------------------
// aws:ec2:Subnet

/// The arguments of a subnet.
///
/// ```
/// use cairn_aws::SubnetArgs;
/// let public = SubnetArgs::builder()
///     .vpc_id("vpc-0abc")
///     .cidr_block("10.0.1.0/24")
///     .availability_zone("us-east-1a")
///     .map_public_ip_on_launch(true)
///     .build();
/// assert!(public.validate().is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "A subnet of a VPC. Its VPC, range and availability zone are fixed at creation; \
          public IP mapping and tags are updated in place.",
    outputs = SubnetOutputs
)]
pub struct SubnetArgs {
    /// The VPC the subnet belongs to. Changing it replaces the subnet.
    #[builder(setter(into))]
    #[args(replace)]
    pub vpc_id: Input<String>,
    /// The IPv4 range, inside the VPC's (a /16 to a /28). Changing it replaces the subnet.
    #[builder(setter(into))]
    #[args(replace)]
    pub cidr_block: Input<String>,
    /// The availability zone, e.g. `us-east-1a`; EC2 picks one when absent. Changing it replaces the subnet.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub availability_zone: Option<Input<String>>,
    /// Give instances launched here a public IPv4 address (off unless turned on).
    #[builder(default)]
    #[serde(default)]
    pub map_public_ip_on_launch: bool,
    /// Tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(tags)
    }))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

cairn_core::resource! {
    /// A subnet, as declared: its URN and typed outputs.
    Subnet, token = "aws:ec2:Subnet", args = SubnetArgs, outputs = SubnetOutputs {
        /// The subnet ID, `subnet-...`.
        id: String,
        /// The subnet ARN.
        arn: String,
        /// The availability zone the subnet is in.
        availability_zone: String,
        /// The VPC it belongs to.
        vpc_id: String,
        /// The IPv4 range.
        cidr_block: String,
    }
}

impl SubnetArgs {
    /// Checks what EC2 would refuse later, with the fix in each message.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        check_network(self.cidr_block.value(), "cidr_block", &mut failures);
        failures
    }
}

// ---------------------------------------------------------------------------
// aws:ec2:InternetGateway

/// The arguments of an internet gateway.
///
/// ```
/// use cairn_aws::InternetGatewayArgs;
/// let igw = InternetGatewayArgs::builder().vpc_id("vpc-0abc").build();
/// assert!(igw.vpc_id.is_some());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "An internet gateway. Attaching it to a VPC, moving it and detaching it are done in place.",
    outputs = InternetGatewayOutputs
)]
pub struct InternetGatewayArgs {
    /// The VPC to attach the gateway to; detached when absent. Attached and detached in place.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<Input<String>>,
    /// Tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(tags)
    }))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

cairn_core::resource! {
    /// An internet gateway, as declared: its URN and typed outputs.
    InternetGateway, token = "aws:ec2:InternetGateway", args = InternetGatewayArgs, outputs = InternetGatewayOutputs {
        /// The gateway ID, `igw-...` (what a route's `gateway_id` takes).
        id: String,
        /// The gateway ARN.
        arn: String,
    }
}

impl InternetGatewayArgs {
    /// Checks beyond the structure (none so far; kept for symmetry with the other types).
    pub fn validate(&self) -> Vec<CheckFailure> {
        Vec::new()
    }
}

// ---------------------------------------------------------------------------
// aws:ec2:Eip

aws_enum! {
    /// Where an elastic IP address can be used.
    #[derive(Default)]
    EipDomain {
        /// In a VPC (the only domain since EC2-Classic was retired).
        #[default]
        Vpc = "vpc",
    }
}

/// The arguments of an elastic IP address.
///
/// ```
/// use cairn_aws::{EipArgs, EipDomain};
/// let eip = EipArgs::builder().tags([("use", "nat")]).build();
/// assert_eq!(eip.domain, EipDomain::Vpc);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "An elastic IP address. The provider ID is its allocation ID; only the tags change in place.",
    outputs = EipOutputs
)]
pub struct EipArgs {
    /// The domain; `vpc` unless set. Changing it replaces the address.
    #[builder(default)]
    #[serde(default)]
    #[args(replace)]
    pub domain: EipDomain,
    /// A specific IPv4 address to allocate: one from the account's own
    /// (BYOIP) pool, or one released earlier, to recover it. Unset, EC2
    /// picks one. Changing it replaces the address.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub address: Option<String>,
    /// Tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(tags)
    }))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

cairn_core::resource! {
    /// An elastic IP address, as declared: its URN and typed outputs.
    Eip, token = "aws:ec2:Eip", args = EipArgs, outputs = EipOutputs {
        /// The allocation ID, `eipalloc-...` (what a NAT gateway's `allocation_id` takes).
        allocation_id: String,
        /// The public IPv4 address.
        public_ip: String,
    }
}

impl EipArgs {
    /// Checks that a requested address is an IPv4 address.
    pub fn validate(&self) -> Vec<CheckFailure> {
        match &self.address {
            Some(a) if a.parse::<std::net::Ipv4Addr>().is_err() => vec![failure(
                "address",
                format!("`{a}` is not an IPv4 address: write it as four numbers, such as 198.51.100.7, or drop it"),
            )],
            _ => Vec::new(),
        }
    }
}

// ---------------------------------------------------------------------------
// aws:ec2:NatGateway

aws_enum! {
    /// Whether a NAT gateway reaches the internet.
    #[derive(Default)]
    ConnectivityType {
        /// Reaches the internet through an elastic IP address (needs `allocation_id`).
        #[default]
        Public = "public",
        /// Reaches other VPCs and on-premises networks only.
        Private = "private",
    }
}

/// The arguments of a NAT gateway.
///
/// ```
/// use cairn_aws::NatGatewayArgs;
/// let nat = NatGatewayArgs::builder().subnet_id("subnet-0abc").allocation_id("eipalloc-0abc").build();
/// assert!(nat.validate().is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "A NAT gateway. Its subnet, address and connectivity are fixed at creation; tags are updated in place.",
    outputs = NatGatewayOutputs,
    deletes_first = nat_gateway_keeps_its_address
)]
pub struct NatGatewayArgs {
    /// The (public) subnet the gateway runs in. Changing it replaces the gateway.
    #[builder(setter(into))]
    #[args(replace)]
    pub subnet_id: Input<String>,
    /// The elastic IP address's allocation ID: required for public gateways,
    /// refused for private ones. Changing it replaces the gateway.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub allocation_id: Option<Input<String>>,
    /// Public (the default) or private. Changing it replaces the gateway.
    #[builder(default)]
    #[serde(default)]
    #[args(replace)]
    pub connectivity_type: ConnectivityType,
    /// Tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(tags)
    }))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

cairn_core::resource! {
    /// A NAT gateway, as declared: its URN and typed outputs.
    NatGateway, token = "aws:ec2:NatGateway", args = NatGatewayArgs, outputs = NatGatewayOutputs {
        /// The gateway ID, `nat-...` (what a route's `nat_gateway_id` takes).
        id: String,
        /// The public IPv4 address (empty for a private gateway).
        public_ip: String,
        /// The private IPv4 address in its subnet.
        private_ip: String,
    }
}

impl NatGatewayArgs {
    /// Checks the address against the connectivity, naming the property and the fix.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        match (self.connectivity_type, &self.allocation_id) {
            (ConnectivityType::Public, None) => failures.push(failure(
                "allocation_id",
                "a public NAT gateway needs an elastic IP: set allocation_id (e.g. an aws:ec2:Eip's allocation_id), \
                 or set connectivity_type to private",
            )),
            (ConnectivityType::Private, Some(_)) => failures.push(failure(
                "allocation_id",
                "a private NAT gateway takes no elastic IP: remove allocation_id, or set connectivity_type to public",
            )),
            _ => {}
        }
        failures
    }
}

// ---------------------------------------------------------------------------
// aws:ec2:RouteTable

/// The arguments of a route table. Its routes are [`RouteArgs`] resources.
///
/// ```
/// use cairn_aws::RouteTableArgs;
/// let rt = RouteTableArgs::builder().vpc_id("vpc-0abc").build();
/// assert!(rt.tags.is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "A route table of a VPC. Routes and subnet associations are resources of their own; \
          only the tags change in place.",
    outputs = RouteTableOutputs
)]
pub struct RouteTableArgs {
    /// The VPC the table belongs to. Changing it replaces the table.
    #[builder(setter(into))]
    #[args(replace)]
    pub vpc_id: Input<String>,
    /// Tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(tags)
    }))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

cairn_core::resource! {
    /// A route table, as declared: its URN and typed outputs.
    RouteTable, token = "aws:ec2:RouteTable", args = RouteTableArgs, outputs = RouteTableOutputs {
        /// The route table ID, `rtb-...`.
        id: String,
        /// The route table ARN.
        arn: String,
        /// The VPC it belongs to.
        vpc_id: String,
    }
}

impl RouteTableArgs {
    /// Checks beyond the structure (none so far; kept for symmetry with the other types).
    pub fn validate(&self) -> Vec<CheckFailure> {
        Vec::new()
    }
}

// ---------------------------------------------------------------------------
// aws:ec2:Route

/// The arguments of a route: a destination and exactly one target.
///
/// ```
/// use cairn_aws::RouteArgs;
/// let default_route = RouteArgs::builder()
///     .route_table_id("rtb-0abc")
///     .destination_cidr_block("0.0.0.0/0")
///     .gateway_id("igw-0abc")
///     .build();
/// assert!(default_route.validate().is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "A route in a route table. Its table and destination are fixed; its target (an internet gateway \
          or a NAT gateway) is replaced in place. The provider ID is ROUTETABLEID_DESTINATION.",
    outputs = RouteOutputs
)]
pub struct RouteArgs {
    /// The route table. Changing it replaces the route.
    #[builder(setter(into))]
    #[args(replace)]
    pub route_table_id: Input<String>,
    /// The destination, e.g. `0.0.0.0/0`. Changing it replaces the route.
    #[builder(setter(into))]
    #[args(replace)]
    pub destination_cidr_block: Input<String>,
    /// The internet gateway to send the traffic to (set this or `nat_gateway_id`). Changed in place.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_id: Option<Input<String>>,
    /// The NAT gateway to send the traffic to (set this or `gateway_id`). Changed in place.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nat_gateway_id: Option<Input<String>>,
}

cairn_core::resource! {
    /// A route, as declared: its URN and typed outputs.
    Route, token = "aws:ec2:Route", args = RouteArgs, outputs = RouteOutputs {
        /// The provider ID, `ROUTETABLEID_DESTINATION` (e.g. `rtb-0abc_0.0.0.0/0`).
        id: String,
        /// The route table.
        route_table_id: String,
        /// The destination.
        destination_cidr_block: String,
    }
}

impl RouteArgs {
    /// Checks the destination and that there is exactly one target.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        check_cidr(self.destination_cidr_block.value(), "destination_cidr_block", &mut failures);
        match (&self.gateway_id, &self.nat_gateway_id) {
            (None, None) => failures.push(failure(
                "gateway_id",
                "a route needs a target: set gateway_id (an internet gateway) or nat_gateway_id",
            )),
            (Some(_), Some(_)) => failures.push(failure(
                "nat_gateway_id",
                "a route has exactly one target, but both gateway_id and nat_gateway_id are set: remove one",
            )),
            _ => {}
        }
        failures
    }
}

// ---------------------------------------------------------------------------
// aws:ec2:RouteTableAssociation

/// The arguments of a route table association: which table a subnet uses.
///
/// ```
/// use cairn_aws::RouteTableAssociationArgs;
/// let a = RouteTableAssociationArgs::builder().route_table_id("rtb-0abc").subnet_id("subnet-0abc").build();
/// assert!(a.validate().is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "Which route table a subnet uses. Switching tables is done in place; another subnet replaces it. \
          The provider ID is the association ID at creation.",
    outputs = RouteTableAssociationOutputs
)]
pub struct RouteTableAssociationArgs {
    /// The route table. Changed in place (the subnet switches tables).
    #[builder(setter(into))]
    pub route_table_id: Input<String>,
    /// The subnet. Changing it replaces the association.
    #[builder(setter(into))]
    #[args(replace)]
    pub subnet_id: Input<String>,
}

cairn_core::resource! {
    /// A route table association, as declared: its URN and typed outputs.
    RouteTableAssociation, token = "aws:ec2:RouteTableAssociation", args = RouteTableAssociationArgs,
    outputs = RouteTableAssociationOutputs {
        /// The current association ID, `rtbassoc-...` (switching tables gives a new one).
        id: String,
        /// The route table.
        route_table_id: String,
        /// The subnet.
        subnet_id: String,
    }
}

impl RouteTableAssociationArgs {
    /// Checks beyond the structure (none so far; kept for symmetry with the other types).
    pub fn validate(&self) -> Vec<CheckFailure> {
        Vec::new()
    }
}

// ---------------------------------------------------------------------------
// aws:ec2:SecurityGroup

/// The arguments of a security group. Its rules are [`SecurityGroupRuleArgs`] resources.
///
/// ```
/// use cairn_aws::SecurityGroupArgs;
/// let sg = SecurityGroupArgs::builder().vpc_id("vpc-0abc").revoke_default_egress(true).build();
/// assert_eq!(sg.description, "Managed by Cairn");
/// assert!(sg.name.is_none(), "the provider fills an auto-name");
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "A security group of a VPC, without inline rules (declare aws:ec2:SecurityGroupRule resources). \
          Name, description and VPC are fixed at creation.",
    outputs = SecurityGroupOutputs,
    auto_name(property = "name", max_len = MAX_SECURITY_GROUP_NAME, reserved_prefix = SECURITY_GROUP_ID_PREFIX)
)]
pub struct SecurityGroupArgs {
    /// The group name; generated from the logical name when absent. Changing it replaces the group.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub name: Option<Input<String>>,
    /// The description; "Managed by Cairn" unless set. Changing it replaces the group.
    #[builder(default = default_description(), setter(into))]
    #[serde(default = "default_description")]
    #[args(replace)]
    pub description: String,
    /// The VPC the group belongs to. Changing it replaces the group.
    #[builder(setter(into))]
    #[args(replace)]
    pub vpc_id: Input<String>,
    /// Remove the allow-all egress rule EC2 adds to every new group (off unless
    /// turned on). Turning it off again restores that rule.
    #[builder(default)]
    #[serde(default)]
    pub revoke_default_egress: bool,
    /// Tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(tags)
    }))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

cairn_core::resource! {
    /// A security group, as declared: its URN and typed outputs.
    SecurityGroup, token = "aws:ec2:SecurityGroup", args = SecurityGroupArgs, outputs = SecurityGroupOutputs {
        /// The group ID, `sg-...` (what a rule's `security_group_id` takes).
        id: String,
        /// The group name.
        name: String,
        /// The group ARN.
        arn: String,
        /// The VPC it belongs to.
        vpc_id: String,
    }
}

/// The prefix of security group IDs, which EC2 refuses at the start of a group name.
const SECURITY_GROUP_ID_PREFIX: &str = "sg-";

impl SecurityGroupArgs {
    /// Checks what EC2 would refuse later, with the fix in each message.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        if let Some(name) = self.name.as_ref().and_then(Input::value) {
            if let Err(reason) = check_group_text(name, MAX_SECURITY_GROUP_NAME) {
                failures.push(failure("name", format!("`{name}` is not a valid security group name: {reason}")));
            } else if name
                .get(..SECURITY_GROUP_ID_PREFIX.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(SECURITY_GROUP_ID_PREFIX))
            {
                failures.push(failure(
                    "name",
                    format!(
                        "`{name}` starts with `{SECURITY_GROUP_ID_PREFIX}`, which EC2 keeps for group IDs: choose another name"
                    ),
                ));
            }
        }
        if let Err(reason) = check_group_text(&self.description, MAX_DESCRIPTION) {
            failures.push(failure("description", format!("the description is not valid: {reason}")));
        }
        failures
    }
}

/// The characters EC2 accepts in the names and descriptions of VPC security groups.
fn check_group_text(text: &str, max_len: usize) -> Result<(), String> {
    const PUNCTUATION: &str = " ._-:/()#,@[]+=&;{}!$*";
    if text.is_empty() || text.len() > max_len {
        return Err(format!("it is {} characters long: use 1 to {max_len} characters", text.len()));
    }
    match text.chars().find(|c| !c.is_ascii_alphanumeric() && !PUNCTUATION.contains(*c)) {
        Some(c) => Err(format!("`{c}` is not allowed: use letters, digits, spaces and {}", PUNCTUATION.trim_start())),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------------
// aws:ec2:SecurityGroupRule

aws_enum! {
    /// The direction of a security group rule.
    RuleType {
        /// Inbound traffic.
        Ingress = "ingress",
        /// Outbound traffic.
        Egress = "egress",
    }
}

aws_enum! {
    /// The IP protocol of a security group rule.
    RuleProtocol {
        /// TCP; the ports are a range.
        Tcp = "tcp",
        /// UDP; the ports are a range.
        Udp = "udp",
        /// ICMP; `from_port` is the ICMP type and `to_port` the code (-1: all).
        Icmp = "icmp",
        /// Every protocol and port; both ports must be -1.
        All = "-1",
    }
}

/// The arguments of a security group rule: one direction, one protocol and
/// port range, and exactly one peer (an IPv4 range or another group).
///
/// ```
/// use cairn_aws::{RuleProtocol, RuleType, SecurityGroupRuleArgs};
/// let https = SecurityGroupRuleArgs::builder()
///     .security_group_id("sg-0abc")
///     .rule_type(RuleType::Ingress)
///     .protocol(RuleProtocol::Tcp)
///     .from_port(443)
///     .to_port(443)
///     .cidr_ipv4("10.0.0.0/8")
///     .description("https from the corporate network")
///     .build();
/// assert!(https.validate().is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "One ingress or egress rule of a security group. Everything but the description is fixed at creation. \
          The provider ID is the rule ID (sgr-...).",
    outputs = SecurityGroupRuleOutputs
)]
pub struct SecurityGroupRuleArgs {
    /// The group the rule belongs to. Changing it replaces the rule.
    #[builder(setter(into))]
    #[args(replace)]
    pub security_group_id: Input<String>,
    /// `ingress` or `egress` (the property is called `type`). Changing it replaces the rule.
    #[serde(rename = "type")]
    #[args(replace)]
    pub rule_type: RuleType,
    /// `tcp`, `udp`, `icmp` or `-1` (all). Changing it replaces the rule.
    #[args(replace)]
    pub protocol: RuleProtocol,
    /// The first port (tcp, udp), the ICMP type, or -1. Changing it replaces the rule.
    #[args(replace)]
    pub from_port: i32,
    /// The last port (tcp, udp), the ICMP code, or -1. Changing it replaces the rule.
    #[args(replace)]
    pub to_port: i32,
    /// The IPv4 range of the peer (set this or `source_security_group_id`). Changing it replaces the rule.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub cidr_ipv4: Option<Input<String>>,
    /// The peer security group: the source of ingress, the destination of
    /// egress (set this or `cidr_ipv4`). Changing it replaces the rule.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub source_security_group_id: Option<Input<String>>,
    /// A description, updated in place.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

cairn_core::resource! {
    /// A security group rule, as declared: its URN and typed outputs.
    SecurityGroupRule, token = "aws:ec2:SecurityGroupRule", args = SecurityGroupRuleArgs,
    outputs = SecurityGroupRuleOutputs {
        /// The rule ID, `sgr-...`.
        id: String,
        /// The group the rule belongs to.
        security_group_id: String,
    }
}

impl SecurityGroupRuleArgs {
    /// Checks the peer, the ports and the description, naming the property and the fix.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        check_cidr(self.cidr_ipv4.as_ref().and_then(Input::value), "cidr_ipv4", &mut failures);
        match (&self.cidr_ipv4, &self.source_security_group_id) {
            (None, None) => failures.push(failure(
                "cidr_ipv4",
                "a rule needs a peer: set cidr_ipv4 (e.g. 10.0.0.0/8) or source_security_group_id",
            )),
            (Some(_), Some(_)) => failures.push(failure(
                "source_security_group_id",
                "a rule has exactly one peer, but both cidr_ipv4 and source_security_group_id are set: \
                 declare one rule per peer",
            )),
            _ => {}
        }
        let (from, to) = (self.from_port, self.to_port);
        match self.protocol {
            RuleProtocol::Tcp | RuleProtocol::Udp => {
                for (property, port) in [("from_port", from), ("to_port", to)] {
                    if !(0..=65535).contains(&port) {
                        failures.push(failure(property, format!("{property} ({port}) is not a port: use 0 to 65535")));
                    }
                }
                if from > to {
                    failures.push(failure(
                        "from_port",
                        format!("from_port ({from}) is greater than to_port ({to}): set from_port <= to_port"),
                    ));
                }
            }
            RuleProtocol::Icmp => {
                for (property, value, what) in [("from_port", from, "ICMP type"), ("to_port", to, "ICMP code")] {
                    if !(-1..=255).contains(&value) {
                        failures.push(failure(
                            property,
                            format!("{property} ({value}) is not an {what}: use -1 (all) to 255"),
                        ));
                    }
                }
                if from == -1 && to != -1 {
                    failures.push(failure(
                        "to_port",
                        format!("every ICMP type (from_port -1) takes every code: set to_port to -1, not {to}"),
                    ));
                }
            }
            RuleProtocol::All => {
                if (from, to) != (-1, -1) {
                    failures.push(failure(
                        "from_port",
                        format!(
                            "protocol -1 covers every port, but the ports are {from} to {to}: \
                             set from_port and to_port to -1, or choose tcp or udp"
                        ),
                    ));
                }
            }
        }
        if let Some(d) = &self.description
            && d.len() > MAX_DESCRIPTION
        {
            failures.push(failure(
                "description",
                format!("the description is {} characters long: use at most {MAX_DESCRIPTION}", d.len()),
            ));
        }
        failures
    }
}

// ---------------------------------------------------------------------------
// IPv4 CIDR blocks

/// An IPv4 CIDR block: a network address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The address, as a number.
    pub address: u32,
    /// The prefix length, 0 to 32.
    pub prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`, refusing host bits: EC2 reports the network
    /// address, so `10.0.0.1/16` would never match what it reports.
    ///
    /// ```
    /// use cairn_aws::ec2::Cidr;
    /// assert_eq!(Cidr::parse("10.0.0.0/16").map(|c| c.prefix), Ok(16));
    /// assert!(Cidr::parse("10.0.0.1/16").unwrap_err().contains("10.0.0.0/16"));
    /// assert!(Cidr::parse("10.0.0/16").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, String> {
        let shape = "write it as four numbers 0 to 255 and a prefix length 0 to 32, e.g. 10.0.0.0/16";
        let bad = || format!("`{text}` is not an IPv4 CIDR block: {shape}");
        let (address, prefix) = text.split_once('/').ok_or_else(bad)?;
        let number = |s: &str, max: u32| {
            (!s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u32>().ok())
                .flatten()
                .filter(|n| *n <= max)
        };
        let octets: Vec<u32> = address.split('.').map(|o| number(o, 255)).collect::<Option<_>>().ok_or_else(bad)?;
        let prefix = number(prefix, 32).ok_or_else(bad)?;
        let &[a, b, c, d] = octets.as_slice() else { return Err(bad()) };
        let address = (a << 24) | (b << 16) | (c << 8) | d;
        let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
        let prefix = prefix as u8;
        if address & !mask != 0 {
            let network = Cidr { address: address & mask, prefix };
            return Err(format!("`{text}` has host bits set: use the network address, {network}"));
        }
        Ok(Cidr { address, prefix })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b, c, d] = self.address.to_be_bytes();
        write!(f, "{a}.{b}.{c}.{d}/{}", self.prefix)
    }
}

/// Checks a CIDR block the program set (unknown ones are checked once known).
fn check_cidr(value: Option<&String>, property: &str, failures: &mut Vec<CheckFailure>) -> Option<Cidr> {
    match value.map(|v| Cidr::parse(v)) {
        Some(Ok(cidr)) => Some(cidr),
        Some(Err(reason)) => {
            failures.push(failure(property, reason));
            None
        }
        None => None,
    }
}

/// Checks a VPC's or subnet's range: a CIDR block of a size EC2 accepts.
fn check_network(value: Option<&String>, property: &str, failures: &mut Vec<CheckFailure>) {
    if let Some(cidr) = check_cidr(value, property, failures)
        && !NETWORK_PREFIXES.contains(&cidr.prefix)
    {
        failures.push(failure(
            property,
            format!(
                "`{cidr}` is a /{}, but EC2 takes a /{} to a /{}: choose a prefix length in that range",
                cidr.prefix,
                NETWORK_PREFIXES.start(),
                NETWORK_PREFIXES.end()
            ),
        ));
    }
}

/// An elastic IP serves one NAT gateway at a time: a replacement that
/// keeps the address must delete the old gateway first.
fn nat_gateway_keeps_its_address(olds: &cairn_core::Value, news: &cairn_core::Value) -> bool {
    let allocation =
        |v: &cairn_core::Value| v.get("allocation_id").filter(|a| !matches!(a, cairn_core::Value::Null)).cloned();
    allocation(olds).is_some() && allocation(olds) == allocation(news)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::Value;
    use serde_json::json;

    fn messages(failures: Vec<CheckFailure>) -> Vec<String> {
        failures.iter().map(|f| format!("{}: {}", f.property, f.reason)).collect()
    }

    #[test]
    fn cidr_blocks_parse_and_refuse_host_bits_and_bad_shapes() {
        assert_eq!(Cidr::parse("0.0.0.0/0"), Ok(Cidr { address: 0, prefix: 0 }));
        assert_eq!(Cidr::parse("10.1.2.0/24").map(|c| c.to_string()).as_deref(), Ok("10.1.2.0/24"));
        assert_eq!(Cidr::parse("255.255.255.255/32").map(|c| c.address), Ok(u32::MAX));
        assert_eq!(
            Cidr::parse("10.0.1.7/16").unwrap_err(),
            "`10.0.1.7/16` has host bits set: use the network address, 10.0.0.0/16"
        );
        for bad in ["", "10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "256.0.0.0/8", "10.0.0/8", "10.0.0.0.0/8", "a.b.c.d/8"]
        {
            assert!(Cidr::parse(bad).unwrap_err().contains("is not an IPv4 CIDR block"), "{bad:?}");
        }
        assert!(Cidr::parse("+1.0.0.0/8").is_err() && Cidr::parse("1.0.0.0/+8").is_err());
    }

    #[test]
    fn vpc_round_trips_with_dns_defaults_and_checks_its_range() {
        let args = VpcArgs::builder().cidr_block("10.0.0.0/16").build();
        let v = Value::from_serialize(&args).unwrap();
        assert_eq!(
            v.to_json(),
            json!({"cidr_block": "10.0.0.0/16", "enable_dns_support": true, "enable_dns_hostnames": true, "tags": {}})
        );
        assert!(cairn_provider_sdk::check_structure(<VpcArgs as TypedArgs>::SCHEMA, &v).is_empty());
        let sparse: VpcArgs = Value::from_json(&json!({"cidr_block": "10.0.0.0/16"})).deserialize_into().unwrap();
        assert!(sparse.enable_dns_support && sparse.enable_dns_hostnames);

        let mut bad = VpcArgs::builder().cidr_block("10.0.0.0/8").enable_dns_support(false).build();
        assert_eq!(
            messages(bad.validate()),
            [
                "cidr_block: `10.0.0.0/8` is a /8, but EC2 takes a /16 to a /28: choose a prefix length in that range",
                "enable_dns_hostnames: DNS host names need DNS support: set enable_dns_support to true, or \
                 enable_dns_hostnames to false"
            ]
        );
        bad.cidr_block = Input::Unknown;
        bad.enable_dns_hostnames = false;
        assert!(bad.validate().is_empty(), "unknown ranges are checked once known");
    }

    #[test]
    fn routes_need_exactly_one_target() {
        let route = |gw: Option<&str>, nat: Option<&str>| RouteArgs {
            route_table_id: "rtb-1".into(),
            destination_cidr_block: "0.0.0.0/0".into(),
            gateway_id: gw.map(Into::into),
            nat_gateway_id: nat.map(Into::into),
        };
        assert!(route(Some("igw-1"), None).validate().is_empty());
        assert!(route(None, Some("nat-1")).validate().is_empty());
        assert!(messages(route(None, None).validate())[0].starts_with("gateway_id: a route needs a target"));
        assert!(messages(route(Some("igw-1"), Some("nat-1")).validate())[0].starts_with("nat_gateway_id: "));
        let mut bad = route(Some("igw-1"), None);
        bad.destination_cidr_block = "0.0.0.0".into();
        assert!(messages(bad.validate())[0].starts_with("destination_cidr_block: `0.0.0.0` is not an IPv4 CIDR"));
    }

    fn rule() -> SecurityGroupRuleArgs {
        SecurityGroupRuleArgs::builder()
            .security_group_id("sg-1")
            .rule_type(RuleType::Ingress)
            .protocol(RuleProtocol::Tcp)
            .from_port(443)
            .to_port(443)
            .cidr_ipv4("10.0.0.0/8")
            .build()
    }

    #[test]
    fn security_group_rules_round_trip_with_the_type_property() {
        let v = Value::from_serialize(&rule()).unwrap();
        assert_eq!(
            v.to_json(),
            json!({"security_group_id": "sg-1", "type": "ingress", "protocol": "tcp",
                   "from_port": 443, "to_port": 443, "cidr_ipv4": "10.0.0.0/8"})
        );
        assert!(cairn_provider_sdk::check_structure(<SecurityGroupRuleArgs as TypedArgs>::SCHEMA, &v).is_empty());
        let back: SecurityGroupRuleArgs = v.deserialize_into().unwrap();
        assert_eq!(Value::from_serialize(&back).unwrap(), v);
        assert_eq!(serde_json::to_value(RuleProtocol::All).unwrap(), json!("-1"));
        assert_eq!(RuleProtocol::from_aws("-1"), Some(RuleProtocol::All));
    }

    #[test]
    fn security_group_rules_check_peer_and_ports() {
        assert!(rule().validate().is_empty());
        let mut a = rule();
        a.from_port = 444;
        a.source_security_group_id = Some("sg-2".into());
        let text = messages(a.validate());
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(text[0].starts_with("source_security_group_id: a rule has exactly one peer"), "{text:?}");
        assert_eq!(text[1], "from_port: from_port (444) is greater than to_port (443): set from_port <= to_port");

        let mut all = rule();
        all.protocol = RuleProtocol::All;
        assert!(messages(all.validate())[0].starts_with("from_port: protocol -1 covers every port"));
        all.from_port = -1;
        all.to_port = -1;
        all.cidr_ipv4 = None;
        assert_eq!(
            messages(all.validate()),
            ["cidr_ipv4: a rule needs a peer: set cidr_ipv4 (e.g. 10.0.0.0/8) or source_security_group_id"]
        );

        let mut ping = rule();
        ping.protocol = RuleProtocol::Icmp;
        ping.from_port = 8;
        ping.to_port = 0;
        assert!(ping.validate().is_empty(), "ICMP type 8 code 0: from > to is fine");
        ping.to_port = 300;
        assert!(messages(ping.validate())[0].starts_with("to_port: to_port (300) is not an ICMP code"));
    }

    #[test]
    fn security_groups_default_their_description_and_check_names() {
        let sg: SecurityGroupArgs = Value::from_json(&json!({"vpc_id": "vpc-1"})).deserialize_into().unwrap();
        assert_eq!(sg.description, DEFAULT_SECURITY_GROUP_DESCRIPTION);
        assert!(!sg.revoke_default_egress && sg.validate().is_empty());
        let mut bad = sg.clone();
        bad.name = Some("sg-web".into());
        bad.description = "caf\u{e9}".into();
        let text = messages(bad.validate());
        assert!(text[0].starts_with("name: `sg-web` starts with `sg-`"), "{text:?}");
        assert!(text[1].starts_with("description: the description is not valid: `\u{e9}` is not allowed"), "{text:?}");
        bad.name = Some("x".repeat(256).into());
        assert!(messages(bad.validate())[0].contains("256 characters long"));
    }

    #[test]
    fn nat_gateways_match_their_address_to_their_connectivity() {
        let public = NatGatewayArgs::builder().subnet_id("subnet-1").build();
        assert!(messages(public.validate())[0].starts_with("allocation_id: a public NAT gateway needs an elastic IP"));
        let private = NatGatewayArgs::builder()
            .subnet_id("subnet-1")
            .allocation_id("eipalloc-1")
            .connectivity_type(ConnectivityType::Private)
            .build();
        assert!(messages(private.validate())[0].starts_with("allocation_id: a private NAT gateway takes no"));
        assert_eq!(
            Value::from_serialize(&EipArgs::builder().build()).unwrap().to_json(),
            json!({"domain": "vpc", "tags": {}})
        );
    }

    #[test]
    fn a_requested_elastic_ip_must_be_an_ipv4_address() {
        assert!(EipArgs::builder().address("198.51.100.7").build().validate().is_empty());
        assert_eq!(
            messages(EipArgs::builder().address("198.51.100").build().validate()),
            [
                "address: `198.51.100` is not an IPv4 address: write it as four numbers, such as 198.51.100.7, or drop it"
            ]
        );
    }
}
