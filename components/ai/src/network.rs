//! The base network an AI platform runs in: a VPC with a public and a private
//! subnet per availability zone, an internet gateway for the public ones and
//! a NAT gateway through which the private ones (where the cluster and its
//! nodes live) reach out.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use cairn_aws::{
    Eip, EipArgs, InternetGateway, InternetGatewayArgs, NatGateway, NatGatewayArgs, RouteArgs, RouteTable,
    RouteTableArgs, RouteTableAssociationArgs, Subnet, SubnetArgs, Vpc, VpcArgs,
};
use cairn_core::{ComponentArgs, DeclareError, InvalidArgs, Output, Scope, Stack, Urn};
use typed_builder::TypedBuilder;

use crate::tags::{check_cost_tags, cost_tags};

/// Arguments of [`BaseNetwork`].
///
/// ```
/// use cairn_ai::BaseNetworkArgs;
/// let args = BaseNetworkArgs::builder().availability_zones(["us-east-1a", "us-east-1b"]).build();
/// assert_eq!(args.cidr_block, "10.0.0.0/16");
/// ```
#[derive(Debug, Clone, TypedBuilder)]
pub struct BaseNetworkArgs {
    /// The VPC's range; each subnet gets a sixteenth of it.
    #[builder(default = "10.0.0.0/16".to_owned(), setter(into))]
    pub cidr_block: String,
    /// The availability zones: one public and one private subnet in each (EKS needs two or more).
    #[builder(setter(transform = |zones: impl IntoIterator<Item = impl Into<String>>| zones.into_iter().map(Into::into).collect()))]
    pub availability_zones: Vec<String>,
    /// Extra tags, added to the cost tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        cairn_aws::string_map(tags)
    }))]
    pub tags: BTreeMap<String, String>,
}

/// A VPC with public and private subnets in each zone, an internet gateway
/// and one NAT gateway (in the first zone's public subnet).
#[derive(Debug, Clone)]
pub struct BaseNetwork {
    /// The component's URN.
    pub urn: Urn,
    /// The VPC.
    pub vpc: Vpc,
    /// One public subnet per zone (load balancers; the NAT gateway).
    pub public_subnets: Vec<Subnet>,
    /// One private subnet per zone (the cluster and its nodes).
    pub private_subnets: Vec<Subnet>,
    /// The internet gateway.
    pub internet_gateway: InternetGateway,
    /// The NAT gateway's address.
    pub nat_ip: Eip,
    /// The NAT gateway.
    pub nat_gateway: NatGateway,
    /// Routes the public subnets to the internet gateway.
    pub public_routes: RouteTable,
    /// Routes the private subnets to the NAT gateway.
    pub private_routes: RouteTable,
}

/// The `index`-th of the sixteen equal blocks of `cidr` (`10.0.0.0/16` → `10.0.16.0/20` for 1).
fn block(cidr: &str, index: u32) -> Result<String, String> {
    let (addr, len) = cidr.split_once('/').ok_or_else(|| format!("`{cidr}` is not a CIDR block like 10.0.0.0/16"))?;
    let addr: Ipv4Addr = addr.parse().map_err(|_| format!("`{addr}` is not an IPv4 address"))?;
    let len: u32 = len.parse().map_err(|_| format!("`/{len}` is not a prefix length"))?;
    if !(16..=24).contains(&len) {
        return Err(format!("the VPC range must be a /16 to a /24 (each subnet gets a /{}), not /{len}", len + 4));
    }
    let base = u32::from(addr);
    if base & (u32::MAX >> len) != 0 {
        return Err(format!("`{cidr}` has host bits set: use the network address"));
    }
    let sub = len + 4;
    Ok(format!("{}/{sub}", Ipv4Addr::from(base + (index << (32 - sub)))))
}

impl BaseNetworkArgs {
    /// The public subnets' ranges, then the private ones': public subnets
    /// take blocks 0..zones of the VPC range, private ones 8..8+zones.
    fn subnet_ranges(&self) -> Result<(Vec<String>, Vec<String>), InvalidArgs> {
        let zones = self.availability_zones.len() as u32;
        let blocks = |first: u32| {
            (first..first + zones)
                .map(|i| block(&self.cidr_block, i))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| InvalidArgs::new("cidr_block", e, "give a /16 to /24 network range such as 10.0.0.0/16"))
        };
        Ok((blocks(0)?, blocks(8)?))
    }
}

impl ComponentArgs for BaseNetworkArgs {
    type Component = BaseNetwork;
    const TYPE: &'static str = "cairn:ai:BaseNetwork";

    fn validate(&self, ctx: &Stack) -> Result<(), InvalidArgs> {
        let zones = self.availability_zones.len();
        if !(2..=8).contains(&zones) {
            return Err(InvalidArgs::new(
                "availability_zones",
                format!("lists {zones} zones"),
                "give two to eight (EKS needs subnets in two or more)",
            ));
        }
        self.subnet_ranges()?;
        check_cost_tags(ctx, &self.tags)
    }

    fn expand(self, scope: &Scope) -> Result<BaseNetwork, DeclareError> {
        let args = self;
        let name = scope.name().to_owned();
        let (public_cidrs, private_cidrs) = args.subnet_ranges().expect("validated");
        let tags = |role: &str| {
            let mut t = cost_tags(scope, &args.tags);
            t.insert("Name".to_owned(), format!("{name}-{role}"));
            t
        };
        let vpc = scope.resource(
            &format!("{name}-vpc"),
            VpcArgs::builder().cidr_block(args.cidr_block.clone()).tags(tags("vpc")).build(),
        )?;
        let internet_gateway = scope.resource(
            &format!("{name}-igw"),
            InternetGatewayArgs::builder().vpc_id(vpc.id.clone()).tags(tags("igw")).build(),
        )?;

        let subnet = |kind: &str, i: usize, cidr: &str, lb_role: &str| {
            let mut t = tags(&format!("{kind}-{}", args.availability_zones[i]));
            // Where Kubernetes puts internet-facing and internal load balancers.
            t.insert(lb_role.to_owned(), "1".to_owned());
            scope.resource(
                &format!("{name}-{kind}-{i}"),
                SubnetArgs::builder()
                    .vpc_id(vpc.id.clone())
                    .cidr_block(cidr.to_owned())
                    .availability_zone(args.availability_zones[i].clone())
                    .map_public_ip_on_launch(kind == "public")
                    .tags(t)
                    .build(),
            )
        };
        let public_subnets = public_cidrs
            .iter()
            .enumerate()
            .map(|(i, c)| subnet("public", i, c, "kubernetes.io/role/elb"))
            .collect::<Result<Vec<_>, _>>()?;
        let private_subnets = private_cidrs
            .iter()
            .enumerate()
            .map(|(i, c)| subnet("private", i, c, "kubernetes.io/role/internal-elb"))
            .collect::<Result<Vec<_>, _>>()?;

        let nat_ip = scope.resource(&format!("{name}-nat-ip"), EipArgs::builder().tags(tags("nat-ip")).build())?;
        let nat_gateway = scope.resource(
            &format!("{name}-nat"),
            NatGatewayArgs::builder()
                .subnet_id(public_subnets[0].id.clone())
                .allocation_id(nat_ip.allocation_id.clone())
                .tags(tags("nat"))
                .build(),
        )?;

        let routes = |kind: &str, subnets: &[Subnet], gateway: Option<&InternetGateway>, nat: Option<&NatGateway>| {
            let table = scope.resource(
                &format!("{name}-{kind}-routes"),
                RouteTableArgs::builder().vpc_id(vpc.id.clone()).tags(tags(&format!("{kind}-routes"))).build(),
            )?;
            let route = RouteArgs::builder().route_table_id(table.id.clone()).destination_cidr_block("0.0.0.0/0");
            let route = match (gateway, nat) {
                (Some(g), _) => route.gateway_id(g.id.clone()).build(),
                (None, Some(n)) => route.nat_gateway_id(n.id.clone()).build(),
                (None, None) => unreachable!("every route table here has a default route"),
            };
            scope.resource(&format!("{name}-{kind}-default-route"), route)?;
            for (i, s) in subnets.iter().enumerate() {
                scope.resource(
                    &format!("{name}-{kind}-{i}-routes"),
                    RouteTableAssociationArgs::builder()
                        .route_table_id(table.id.clone())
                        .subnet_id(s.id.clone())
                        .build(),
                )?;
            }
            Ok::<_, DeclareError>(table)
        };
        let public_routes = routes("public", &public_subnets, Some(&internet_gateway), None)?;
        let private_routes = routes("private", &private_subnets, None, Some(&nat_gateway))?;
        scope.output("vpc_id", &vpc.id);
        let network = BaseNetwork {
            urn: scope.urn().clone(),
            vpc,
            public_subnets,
            private_subnets,
            internet_gateway,
            nat_ip,
            nat_gateway,
            public_routes,
            private_routes,
        };
        scope.output("private_subnet_ids", &network.private_subnet_ids());
        Ok(network)
    }
}

impl BaseNetwork {
    /// The private subnets' IDs, for the cluster and its node groups.
    pub fn private_subnet_ids(&self) -> Output<Vec<String>> {
        Output::all(self.private_subnets.iter().map(|s| s.id.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_take_sixteenths_of_the_vpc_range() {
        assert_eq!(block("10.0.0.0/16", 0).unwrap(), "10.0.0.0/20");
        assert_eq!(block("10.0.0.0/16", 1).unwrap(), "10.0.16.0/20");
        assert_eq!(block("10.0.0.0/16", 8).unwrap(), "10.0.128.0/20");
        assert_eq!(block("172.16.4.0/22", 9).unwrap(), "172.16.6.64/26");
        assert!(block("10.0.0.1/16", 0).unwrap_err().contains("host bits"));
        assert!(block("10.0.0.0/8", 0).unwrap_err().contains("/16 to a /24"));
        assert!(block("nonsense", 0).is_err());
    }

    #[test]
    fn expands_to_a_vpc_with_public_and_private_subnets_and_one_nat() {
        let ctx = crate::testing::ctx("dev");
        let net =
            ctx.component("net", BaseNetworkArgs::builder().availability_zones(["az-a", "az-b"]).build()).unwrap();
        assert_eq!((net.public_subnets.len(), net.private_subnets.len()), (2, 2));
        let declared = ctx.finish();
        let types: Vec<String> = declared.resources.iter().map(|r| r.urn.resource_type().as_str().to_owned()).collect();
        let count = |t: &str| types.iter().filter(|x| **x == t).count();
        assert_eq!(count("aws:ec2:Subnet"), 4);
        assert_eq!((count("aws:ec2:NatGateway"), count("aws:ec2:InternetGateway")), (1, 1));
        assert_eq!((count("aws:ec2:RouteTable"), count("aws:ec2:Route")), (2, 2));
        assert_eq!(count("aws:ec2:RouteTableAssociation"), 4);
        let private = declared.resources.iter().find(|r| r.urn.name() == "net-private-1").unwrap();
        assert_eq!(private.inputs.get("cidr_block").and_then(cairn_core::Value::as_str), Some("10.0.144.0/20"));
        let tags = private.inputs.get("tags").unwrap();
        assert_eq!(tags.get("kubernetes.io/role/internal-elb").and_then(cairn_core::Value::as_str), Some("1"));

        let ctx = crate::testing::ctx("dev");
        let err = ctx
            .component("one", BaseNetworkArgs::builder().availability_zones(["az-a"]).build())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("`availability_zones` lists 1 zones") && err.contains("two to eight"), "{err}");
        let bad = BaseNetworkArgs::builder().availability_zones(["a", "b"]).cidr_block("10.0.0.1/16").build();
        let err = crate::testing::ctx("dev").component("net", bad).err().unwrap().to_string();
        assert!(err.contains("`cidr_block`") && err.contains("host bits"), "{err}");
    }
}
