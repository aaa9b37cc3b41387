#compdef sriovctl

__sriovctl_complete() {
    local -ar non_empty_completions=("${@:#(|:*)}")
    local -ar empty_completions=("${(M)@:#(|:*)}")
    _describe -V '' non_empty_completions -- empty_completions -P $'\'\''
}

__sriovctl_custom_complete() {
    local -a completions
    completions=("${(@f)"$("${command_name}" "${@}" "${command_line[@]}")"}")
    if [[ "${#completions[@]}" -gt 1 ]]; then
        __sriovctl_complete "${completions[@]:0:-1}"
    fi
}

__sriovctl_cursor_index_in_current_word() {
    if [[ -z "${QIPREFIX}${IPREFIX}${PREFIX}" ]]; then
        printf 0
    else
        printf %s "${#${(z)LBUFFER}[-1]}"
    fi
}

_sriovctl() {
    emulate -RL zsh -G
    setopt extendedglob nullglob numericglobsort
    unsetopt aliases banghist

    local -xr SAP_SHELL=zsh
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(builtin emulate zsh -c 'printf %s "${ZSH_VERSION}"')"
    local -r SAP_SHELL_VERSION

    local context state state_descr line
    local -A opt_args

    local -r command_name="${words[1]}"
    local -ar command_line=("${words[@]}")
    local -ir current_word_index="$((CURRENT - 1))"

    local -i ret=1
    local -ar ___output=('text' 'json' 'yaml')
    local -ar arg_specs=(
        '--root[Read and change the host beneath DIR instead of / (environment\: SRIOVCTL_ROOT).]:DIR:'
        '(-o --output)'{-o,--output}'[Output format\: text or json (default\: text); yaml for device-plugin-config.]:FORMAT:{__sriovctl_complete "${___output[@]}"}'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'check:Check that IOMMU, firmware, kernel and NICs are ready for SR-IOV.'
            'list:List SR-IOV physical functions and their virtual functions.'
            'create-vfs:Create and configure VFs on a PF, safely and idempotently.'
            'apply:Bring every PF the node file selects to what it asks for, in parallel.'
            'verify:Compare the host with the node file; change nothing.'
            'persist:Write what recreates the VFs at boot: a udev rule, systemd unit or .link file.'
            'label:Label the Kubernetes node with its SR-IOV facts through kubectl.'
            'device-plugin-config:Print the SR-IOV network device plugin'\''s ConfigMap for this host'\''s VFs.'
            'help:Show subcommand help information.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        check|list|create-vfs|apply|verify|persist|label|device-plugin-config|help)
            "_sriovctl_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_sriovctl_check() {
    local -i ret=1
    local -ar ___output=('text' 'json' 'yaml')
    local -ar arg_specs=(
        '--root[Read and change the host beneath DIR instead of / (environment\: SRIOVCTL_ROOT).]:DIR:'
        '(-o --output)'{-o,--output}'[Output format\: text or json (default\: text); yaml for device-plugin-config.]:FORMAT:{__sriovctl_complete "${___output[@]}"}'
        '--node[The node (default\: this host'\''s name, lowercased).]:NODE:'
        '--kubectl[The kubectl to run (default\: kubectl from PATH).]:PATH:'
        '--kubeconfig[Passed to kubectl.]:FILE:'
        '--context[Passed to kubectl.]:CONTEXT:'
        '--label-prefix[The prefix of the fact labels '\''sriovctl label'\'' sets.]:PREFIX:'
        '--device-plugin-config[The device plugin'\''s ConfigMap.]:NAMESPACE/NAME:'
        '*--pf[Check only this PF (interface or PCI address); repeatable.]:PF:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_sriovctl_list() {
    local -i ret=1
    local -ar ___output=('text' 'json' 'yaml')
    local -ar arg_specs=(
        '--root[Read and change the host beneath DIR instead of / (environment\: SRIOVCTL_ROOT).]:DIR:'
        '(-o --output)'{-o,--output}'[Output format\: text or json (default\: text); yaml for device-plugin-config.]:FORMAT:{__sriovctl_complete "${___output[@]}"}'
        '*:PF:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_sriovctl_create-vfs() {
    local -i ret=1
    local -ar ___output=('text' 'json' 'yaml')
    local -ar arg_specs=(
        '--root[Read and change the host beneath DIR instead of / (environment\: SRIOVCTL_ROOT).]:DIR:'
        '(-o --output)'{-o,--output}'[Output format\: text or json (default\: text); yaml for device-plugin-config.]:FORMAT:{__sriovctl_complete "${___output[@]}"}'
        ':PF:'
        '--count[The number of VFs, from 0 to the PF'\''s total (required).]:N:'
        '*--driver[Bind VFs to this driver (vfio-pci for DPDK) through driver_override, or to kernel\: their own driver.]:\[INDEX=\]DRIVER:'
        '--autoprobe[Probe new VFs'\'' drivers automatically (sriov_drivers_autoprobe).]:on|off:'
        '*--mac[VF MAC, or auto for a stable address derived from the PF'\''s permanent MAC.]:\[INDEX=\]auto|MAC:'
        '*--vlan[VF VLAN ID, 0 for none.]:\[INDEX=\]VLAN:'
        '*--trust[Let the VF change its MAC and use promiscuous modes.]:\[INDEX=\]on|off:'
        '*--spoofchk[Drop frames the VF sends with a MAC other than its own.]:\[INDEX=\]on|off:'
        '*--link-state[VF link\: follow the PF, always up, or always down.]:\[INDEX=\]auto|enable|disable:'
        '*--max-tx-rate[VF transmit limit in Mbps, 0 for none.]:\[INDEX=\]MBPS:'
        '--mtu[The PF'\''s MTU.]:BYTES:'
        '--timeout[Seconds to wait for the kernel, the VF drivers and udev.]:SECONDS:'
        '--wait-for-pf[Wait (within --timeout) for the PF'\''s driver and interface, as at boot.]'
        '--force[Change the VF count even when VFs are in use.]'
        '--dry-run[Print what would change and change nothing.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_sriovctl_apply() {
    local -i ret=1
    local -ar ___output=('text' 'json' 'yaml')
    local -ar arg_specs=(
        '--root[Read and change the host beneath DIR instead of / (environment\: SRIOVCTL_ROOT).]:DIR:'
        '(-o --output)'{-o,--output}'[Output format\: text or json (default\: text); yaml for device-plugin-config.]:FORMAT:{__sriovctl_complete "${___output[@]}"}'
        '(-f --file)'{-f,--file}'[The node file (- for standard input; default\: ROOT/etc/sriovctl/sriovctl.yaml).]:FILE:'
        '--dry-run[Print the plan and change nothing.]'
        '--force[Change a VF count even when VFs are in use.]'
        '--boot[At boot\: wait for udev'\''s queue, then for each PF'\''s driver and interface.]'
        '--timeout[Seconds for the whole run.]:SECONDS:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_sriovctl_verify() {
    local -i ret=1
    local -ar ___output=('text' 'json' 'yaml')
    local -ar arg_specs=(
        '--root[Read and change the host beneath DIR instead of / (environment\: SRIOVCTL_ROOT).]:DIR:'
        '(-o --output)'{-o,--output}'[Output format\: text or json (default\: text); yaml for device-plugin-config.]:FORMAT:{__sriovctl_complete "${___output[@]}"}'
        '(-f --file)'{-f,--file}'[The node file (- for standard input; default\: ROOT/etc/sriovctl/sriovctl.yaml).]:FILE:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_sriovctl_persist() {
    local -i ret=1
    local -ar ___output=('text' 'json' 'yaml')
    local -ar ___method=('udev' 'systemd' 'link')
    local -ar arg_specs=(
        '--root[Read and change the host beneath DIR instead of / (environment\: SRIOVCTL_ROOT).]:DIR:'
        '(-o --output)'{-o,--output}'[Output format\: text or json (default\: text); yaml for device-plugin-config.]:FORMAT:{__sriovctl_complete "${___output[@]}"}'
        ':PF:'
        '--config[The node unit\: sriovctl.service runs '\''sriovctl apply --boot'\'' on the node file at every boot.]'
        '(-f --file)'{-f,--file}'[The node file (- for standard input; default\: ROOT/etc/sriovctl/sriovctl.yaml).]:FILE:'
        '--method[udev, systemd or link.]:METHOD:{__sriovctl_complete "${___method[@]}"}'
        '--install[Write the file under ROOT/etc and reload udev or systemd.]'
        '--remove[Remove the files sriovctl wrote for the PF (with --method, only that one).]'
        '--count[The number of VFs, from 0 to the PF'\''s total (required).]:N:'
        '*--driver[Bind VFs to this driver (vfio-pci for DPDK) through driver_override, or to kernel\: their own driver.]:\[INDEX=\]DRIVER:'
        '--autoprobe[Probe new VFs'\'' drivers automatically (sriov_drivers_autoprobe).]:on|off:'
        '*--mac[VF MAC, or auto for a stable address derived from the PF'\''s permanent MAC.]:\[INDEX=\]auto|MAC:'
        '*--vlan[VF VLAN ID, 0 for none.]:\[INDEX=\]VLAN:'
        '*--trust[Let the VF change its MAC and use promiscuous modes.]:\[INDEX=\]on|off:'
        '*--spoofchk[Drop frames the VF sends with a MAC other than its own.]:\[INDEX=\]on|off:'
        '*--link-state[VF link\: follow the PF, always up, or always down.]:\[INDEX=\]auto|enable|disable:'
        '*--max-tx-rate[VF transmit limit in Mbps, 0 for none.]:\[INDEX=\]MBPS:'
        '--mtu[The PF'\''s MTU.]:BYTES:'
        '--timeout[Seconds to wait for the kernel, the VF drivers and udev.]:SECONDS:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_sriovctl_label() {
    local -i ret=1
    local -ar ___output=('text' 'json' 'yaml')
    local -ar arg_specs=(
        '--root[Read and change the host beneath DIR instead of / (environment\: SRIOVCTL_ROOT).]:DIR:'
        '(-o --output)'{-o,--output}'[Output format\: text or json (default\: text); yaml for device-plugin-config.]:FORMAT:{__sriovctl_complete "${___output[@]}"}'
        '--node[The node (default\: this host'\''s name, lowercased).]:NODE:'
        '--kubectl[The kubectl to run (default\: kubectl from PATH).]:PATH:'
        '--kubeconfig[Passed to kubectl.]:FILE:'
        '--context[Passed to kubectl.]:CONTEXT:'
        '*--label[Another label to set; repeatable.]:KEY=VALUE:'
        '--prefix[The prefix of the fact labels.]:PREFIX:'
        '--remove[Remove the labels this command sets.]'
        '--dry-run[Print the kubectl command and change nothing.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_sriovctl_device-plugin-config() {
    local -i ret=1
    local -ar ___output=('text' 'json' 'yaml')
    local -ar ___group_by=('pf' 'vendor')
    local -ar arg_specs=(
        '--root[Read and change the host beneath DIR instead of / (environment\: SRIOVCTL_ROOT).]:DIR:'
        '(-o --output)'{-o,--output}'[Output format\: text or json (default\: text); yaml for device-plugin-config.]:FORMAT:{__sriovctl_complete "${___output[@]}"}'
        '*--pf[Only this PF, or PF#RANGES of its VFs; repeatable.]:PF\[#N-M\]:'
        '--group-by[pf (default) or vendor.]:GROUPING:{__sriovctl_complete "${___group_by[@]}"}'
        '(-f --file)'{-f,--file}'[The node file (- for standard input; default\: ROOT/etc/sriovctl/sriovctl.yaml).]:FILE:'
        '--resource-name[The name of the one resource made.]:NAME:'
        '--resource-prefix[The resources'\'' prefix.]:PREFIX:'
        '--namespace[The ConfigMap'\''s namespace.]:NAMESPACE:'
        '--raw[Print only config.json.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_sriovctl_help() {
    local -i ret=1
    local -ar arg_specs=(
        '*:subcommands:'
        '--version[Show the version.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

if [[ "${funcstack[1]}" = _sriovctl ]]; then
    _sriovctl "${@}"
else
    compdef _sriovctl sriovctl
fi
