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
    local -ar ___output=('text' 'json')
    local -ar arg_specs=(
        '--root[Read and change the host beneath DIR instead of / (environment\: SRIOVCTL_ROOT).]:DIR:'
        '(-o --output)'{-o,--output}'[Output format\: text or json (default\: text).]:FORMAT:{__sriovctl_complete "${___output[@]}"}'
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
            'persist:Write what recreates the VFs at boot: a udev rule, systemd unit or .link file.'
            'label:Label the Kubernetes node with its SR-IOV facts through kubectl. (Not implemented yet.)'
            'help:Show subcommand help information.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        check|list|create-vfs|persist|label|help)
            "_sriovctl_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_sriovctl_check() {
    local -i ret=1
    local -ar ___output=('text' 'json')
    local -ar arg_specs=(
        '--root[Read and change the host beneath DIR instead of / (environment\: SRIOVCTL_ROOT).]:DIR:'
        '(-o --output)'{-o,--output}'[Output format\: text or json (default\: text).]:FORMAT:{__sriovctl_complete "${___output[@]}"}'
        '*--pf[Check only this PF (interface or PCI address); repeatable.]:PF:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_sriovctl_list() {
    local -i ret=1
    local -ar ___output=('text' 'json')
    local -ar arg_specs=(
        '--root[Read and change the host beneath DIR instead of / (environment\: SRIOVCTL_ROOT).]:DIR:'
        '(-o --output)'{-o,--output}'[Output format\: text or json (default\: text).]:FORMAT:{__sriovctl_complete "${___output[@]}"}'
        '*:PF:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_sriovctl_create-vfs() {
    local -i ret=1
    local -ar ___output=('text' 'json')
    local -ar arg_specs=(
        '--root[Read and change the host beneath DIR instead of / (environment\: SRIOVCTL_ROOT).]:DIR:'
        '(-o --output)'{-o,--output}'[Output format\: text or json (default\: text).]:FORMAT:{__sriovctl_complete "${___output[@]}"}'
        ':PF:'
        '--count[The number of VFs, from 0 to the PF'\''s total (required).]:N:'
        '--driver[Bind every VF to this driver (vfio-pci for DPDK) through driver_override.]:DRIVER:'
        '--autoprobe[Probe new VFs'\'' drivers automatically (sriov_drivers_autoprobe).]:on|off:'
        '*--mac[VF MAC\: INDEX=MAC, or auto for stable addresses derived from the PF'\''s permanent MAC.]:auto|INDEX=MAC:'
        '*--vlan[VF VLAN ID, 0 for none.]:\[INDEX=\]VLAN:'
        '*--trust[Let the VF change its MAC and use promiscuous modes.]:\[INDEX=\]on|off:'
        '*--spoofchk[Drop frames the VF sends with a MAC other than its own.]:\[INDEX=\]on|off:'
        '*--link-state[VF link\: follow the PF, always up, or always down.]:\[INDEX=\]auto|enable|disable:'
        '*--max-tx-rate[VF transmit limit in Mbps, 0 for none.]:\[INDEX=\]MBPS:'
        '--mtu[The PF'\''s MTU.]:BYTES:'
        '--timeout[Seconds to wait for the kernel, the VF drivers and udev.]:SECONDS:'
        '--wait-for-pf[Wait (within --timeout) for the PF'\''s driver, as at boot.]'
        '--force[Change the VF count even when VFs are in use.]'
        '--dry-run[Print what would change and change nothing.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_sriovctl_persist() {
    local -i ret=1
    local -ar ___output=('text' 'json')
    local -ar ___method=('udev' 'systemd' 'link')
    local -ar arg_specs=(
        '--root[Read and change the host beneath DIR instead of / (environment\: SRIOVCTL_ROOT).]:DIR:'
        '(-o --output)'{-o,--output}'[Output format\: text or json (default\: text).]:FORMAT:{__sriovctl_complete "${___output[@]}"}'
        ':PF:'
        '--method[udev, systemd or link.]:METHOD:{__sriovctl_complete "${___method[@]}"}'
        '--install[Write the file under ROOT/etc and reload udev or systemd.]'
        '--remove[Remove the files sriovctl wrote for the PF (with --method, only that one).]'
        '--count[The number of VFs, from 0 to the PF'\''s total (required).]:N:'
        '--driver[Bind every VF to this driver (vfio-pci for DPDK) through driver_override.]:DRIVER:'
        '--autoprobe[Probe new VFs'\'' drivers automatically (sriov_drivers_autoprobe).]:on|off:'
        '*--mac[VF MAC\: INDEX=MAC, or auto for stable addresses derived from the PF'\''s permanent MAC.]:auto|INDEX=MAC:'
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
    local -ar ___output=('text' 'json')
    local -ar arg_specs=(
        '--root[Read and change the host beneath DIR instead of / (environment\: SRIOVCTL_ROOT).]:DIR:'
        '(-o --output)'{-o,--output}'[Output format\: text or json (default\: text).]:FORMAT:{__sriovctl_complete "${___output[@]}"}'
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
