//! What Cairn knows of EC2's accelerated instance types: which have an
//! NVIDIA GPU, on which architecture, how many per instance, and which node
//! images can drive them.

use cairn_aws::AmiType;

/// A CPU architecture of EC2 instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// x86-64 (Intel, AMD).
    X86_64,
    /// Arm64 (Graviton).
    Arm64,
}

impl Arch {
    /// The name AWS uses in instance descriptions.
    pub const fn as_str(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    /// The node image Cairn picks for NVIDIA GPUs on this architecture (Amazon Linux 2023 with the NVIDIA driver).
    pub const fn default_gpu_ami(self) -> AmiType {
        match self {
            Arch::X86_64 => AmiType::Al2023X86_64Nvidia,
            Arch::Arm64 => AmiType::Al2023Arm64Nvidia,
        }
    }
}

/// One family of NVIDIA GPU instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpuFamily {
    /// The family, the part of the type before the dot (`g5`).
    pub family: &'static str,
    /// The GPU model.
    pub gpu: &'static str,
    /// The CPU architecture.
    pub arch: Arch,
    /// GPUs per instance, by size (the part after the dot).
    pub sizes: &'static [(&'static str, u32)],
}

const ONE_TO_FOUR_TO_EIGHT: &[(&str, u32)] = &[
    ("xlarge", 1),
    ("2xlarge", 1),
    ("4xlarge", 1),
    ("8xlarge", 1),
    ("16xlarge", 1),
    ("12xlarge", 4),
    ("24xlarge", 4),
    ("48xlarge", 8),
];

/// The NVIDIA GPU families Cairn's GPU components accept.
pub const GPU_FAMILIES: &[GpuFamily] = &[
    GpuFamily {
        family: "g4dn",
        gpu: "NVIDIA T4",
        arch: Arch::X86_64,
        sizes: &[
            ("xlarge", 1),
            ("2xlarge", 1),
            ("4xlarge", 1),
            ("8xlarge", 1),
            ("16xlarge", 1),
            ("12xlarge", 4),
            ("metal", 8),
        ],
    },
    GpuFamily { family: "g5", gpu: "NVIDIA A10G", arch: Arch::X86_64, sizes: ONE_TO_FOUR_TO_EIGHT },
    GpuFamily { family: "g6", gpu: "NVIDIA L4", arch: Arch::X86_64, sizes: ONE_TO_FOUR_TO_EIGHT },
    GpuFamily { family: "g6e", gpu: "NVIDIA L40S", arch: Arch::X86_64, sizes: ONE_TO_FOUR_TO_EIGHT },
    GpuFamily { family: "gr6", gpu: "NVIDIA L4", arch: Arch::X86_64, sizes: &[("4xlarge", 1), ("8xlarge", 1)] },
    GpuFamily {
        family: "g5g",
        gpu: "NVIDIA T4G",
        arch: Arch::Arm64,
        sizes: &[("xlarge", 1), ("2xlarge", 1), ("4xlarge", 1), ("8xlarge", 1), ("16xlarge", 2), ("metal", 2)],
    },
    GpuFamily {
        family: "p3",
        gpu: "NVIDIA V100",
        arch: Arch::X86_64,
        sizes: &[("2xlarge", 1), ("8xlarge", 4), ("16xlarge", 8)],
    },
    GpuFamily { family: "p3dn", gpu: "NVIDIA V100", arch: Arch::X86_64, sizes: &[("24xlarge", 8)] },
    GpuFamily { family: "p4d", gpu: "NVIDIA A100", arch: Arch::X86_64, sizes: &[("24xlarge", 8)] },
    GpuFamily { family: "p4de", gpu: "NVIDIA A100 80GB", arch: Arch::X86_64, sizes: &[("24xlarge", 8)] },
    GpuFamily { family: "p5", gpu: "NVIDIA H100", arch: Arch::X86_64, sizes: &[("48xlarge", 8)] },
    GpuFamily { family: "p5e", gpu: "NVIDIA H200", arch: Arch::X86_64, sizes: &[("48xlarge", 8)] },
    GpuFamily { family: "p5en", gpu: "NVIDIA H200", arch: Arch::X86_64, sizes: &[("48xlarge", 8)] },
];

/// What is known of one GPU instance type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpuInstance {
    /// Its family.
    pub family: &'static GpuFamily,
    /// NVIDIA GPUs per instance.
    pub gpus: u32,
}

/// Why an instance type is not a GPU instance Cairn can run.
pub(crate) fn gpu_instance(instance_type: &str) -> Result<GpuInstance, String> {
    let families = || GPU_FAMILIES.iter().map(|f| f.family).collect::<Vec<_>>().join(", ");
    let Some((family, size)) = instance_type.split_once('.') else {
        return Err(format!("`{instance_type}` is not an EC2 instance type like g5.2xlarge"));
    };
    let Some(f) = GPU_FAMILIES.iter().find(|f| f.family == family) else {
        let why = match family {
            "g4ad" => "has AMD GPUs, which the NVIDIA node images cannot drive".to_owned(),
            f if f.starts_with("inf") || f.starts_with("trn") => {
                "has AWS Neuron accelerators, not GPUs (they need the Neuron node image)".to_owned()
            }
            _ => "has no NVIDIA GPU".to_owned(),
        };
        return Err(format!(
            "`{instance_type}` {why}; use an NVIDIA GPU family ({}) or a CPU node pool for CPU work",
            families()
        ));
    };
    let Some(&(_, gpus)) = f.sizes.iter().find(|(s, _)| *s == size) else {
        let sizes = f.sizes.iter().map(|(s, _)| format!("{family}.{s}")).collect::<Vec<_>>().join(", ");
        return Err(format!("`{instance_type}` is not a size of the {family} family; use one of {sizes}"));
    };
    Ok(GpuInstance { family: f, gpus })
}

/// The architecture an NVIDIA node image runs on; `None` for images without the NVIDIA driver.
pub(crate) fn gpu_ami_arch(ami: AmiType) -> Option<Arch> {
    match ami {
        AmiType::Al2X86_64Gpu | AmiType::Al2023X86_64Nvidia | AmiType::BottlerocketX86_64Nvidia => Some(Arch::X86_64),
        AmiType::Al2023Arm64Nvidia | AmiType::BottlerocketArm64Nvidia => Some(Arch::Arm64),
        AmiType::Al2X86_64 | AmiType::Al2Arm64 | AmiType::Al2023X86_64Standard | AmiType::BottlerocketX86_64 => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_types_are_known_by_family_and_size() {
        let g = gpu_instance("g5.12xlarge").unwrap();
        assert_eq!((g.family.gpu, g.gpus, g.family.arch), ("NVIDIA A10G", 4, Arch::X86_64));
        assert_eq!(gpu_instance("g5g.2xlarge").unwrap().family.arch, Arch::Arm64);
        assert!(gpu_instance("m5.large").unwrap_err().contains("has no NVIDIA GPU"));
        assert!(gpu_instance("g4ad.xlarge").unwrap_err().contains("AMD"));
        assert!(gpu_instance("inf2.xlarge").unwrap_err().contains("Neuron"));
        assert!(gpu_instance("g5.3xlarge").unwrap_err().contains("g5.2xlarge"));
        assert!(gpu_instance("g5").unwrap_err().contains("not an EC2 instance type"));
    }

    #[test]
    fn every_nvidia_image_has_an_architecture() {
        for ami in AmiType::ALL {
            let nvidia = ami.as_str().contains("GPU") || ami.as_str().contains("NVIDIA");
            assert_eq!(gpu_ami_arch(*ami).is_some(), nvidia, "{ami}");
        }
    }
}
