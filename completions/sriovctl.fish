function __sriovctl_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __sriovctl_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __sriovctl_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __sriovctl_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __sriovctl_parse_tokens -S
    set -l unparsed_tokens (__sriovctl_tokens -pc)
    switch $unparsed_tokens[1]
    case 'sriovctl'
        __sriovctl_parse_subcommand 0 'root=' 'o/output=' 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'check'
            __sriovctl_parse_subcommand 0 'root=' 'o/output=' 'node=' 'kubectl=' 'kubeconfig=' 'context=' 'label-prefix=' 'device-plugin-config=' 'pf=+' 'version' 'h/help'
        case 'list'
            __sriovctl_parse_subcommand -r 1 'root=' 'o/output=' 'version' 'h/help'
        case 'create-vfs'
            __sriovctl_parse_subcommand 1 'root=' 'o/output=' 'count=' 'driver=+' 'autoprobe=' 'mac=+' 'vlan=+' 'trust=+' 'spoofchk=+' 'link-state=+' 'max-tx-rate=+' 'mtu=' 'timeout=' 'wait-for-pf' 'force' 'dry-run' 'version' 'h/help'
        case 'apply'
            __sriovctl_parse_subcommand 0 'root=' 'o/output=' 'f/file=' 'dry-run' 'force' 'boot' 'timeout=' 'version' 'h/help'
        case 'verify'
            __sriovctl_parse_subcommand 0 'root=' 'o/output=' 'f/file=' 'version' 'h/help'
        case 'persist'
            __sriovctl_parse_subcommand 1 'root=' 'o/output=' 'config' 'f/file=' 'method=' 'install' 'remove' 'count=' 'driver=+' 'autoprobe=' 'mac=+' 'vlan=+' 'trust=+' 'spoofchk=+' 'link-state=+' 'max-tx-rate=+' 'mtu=' 'timeout=' 'version' 'h/help'
        case 'label'
            __sriovctl_parse_subcommand 0 'root=' 'o/output=' 'node=' 'kubectl=' 'kubeconfig=' 'context=' 'label=+' 'prefix=' 'remove' 'dry-run' 'version' 'h/help'
        case 'device-plugin-config'
            __sriovctl_parse_subcommand 0 'root=' 'o/output=' 'pf=+' 'group-by=' 'f/file=' 'resource-name=' 'resource-prefix=' 'namespace=' 'raw' 'version' 'h/help'
        case 'help'
            __sriovctl_parse_subcommand -r 1 'version'
        end
    end
end

function __sriovctl_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __sriovctl_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __sriovctl_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __sriovctl_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__sriovctl_tokens -p)
    if test -z "$(__sriovctl_tokens -t)"
        set -l index (count (__sriovctl_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'sriovctl' -f
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl" root' -l 'root' -d 'Read and change the host beneath DIR instead of / (environment: SRIOVCTL_ROOT).' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl" o output' -s 'o' -l 'output' -d 'Output format: text or json (default: text); yaml for device-plugin-config.' -rfka 'text json yaml'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl" version' -l 'version' -d 'Show the version.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_positional "sriovctl" -eq 1' -fa 'check' -d 'Check that IOMMU, firmware, kernel and NICs are ready for SR-IOV.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_positional "sriovctl" -eq 1' -fa 'list' -d 'List SR-IOV physical functions and their virtual functions.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_positional "sriovctl" -eq 1' -fa 'create-vfs' -d 'Create and configure VFs on a PF, safely and idempotently.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_positional "sriovctl" -eq 1' -fa 'apply' -d 'Bring every PF the node file selects to what it asks for, in parallel.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_positional "sriovctl" -eq 1' -fa 'verify' -d 'Compare the host with the node file; change nothing.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_positional "sriovctl" -eq 1' -fa 'persist' -d 'Write what recreates the VFs at boot: a udev rule, systemd unit or .link file.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_positional "sriovctl" -eq 1' -fa 'label' -d 'Label the Kubernetes node with its SR-IOV facts through kubectl.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_positional "sriovctl" -eq 1' -fa 'device-plugin-config' -d 'Print the SR-IOV network device plugin\'s ConfigMap for this host\'s VFs.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_positional "sriovctl" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl check" root' -l 'root' -d 'Read and change the host beneath DIR instead of / (environment: SRIOVCTL_ROOT).' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl check" o output' -s 'o' -l 'output' -d 'Output format: text or json (default: text); yaml for device-plugin-config.' -rfka 'text json yaml'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl check" node' -l 'node' -d 'The node (default: this host\'s name, lowercased).' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl check" kubectl' -l 'kubectl' -d 'The kubectl to run (default: kubectl from PATH).' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl check" kubeconfig' -l 'kubeconfig' -d 'Passed to kubectl.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl check" context' -l 'context' -d 'Passed to kubectl.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl check" label-prefix' -l 'label-prefix' -d 'The prefix of the fact labels \'sriovctl label\' sets.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl check" device-plugin-config' -l 'device-plugin-config' -d 'The device plugin\'s ConfigMap.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl check"' -l 'pf' -d 'Check only this PF (interface or PCI address); repeatable.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl check" version' -l 'version' -d 'Show the version.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl check" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl list" root' -l 'root' -d 'Read and change the host beneath DIR instead of / (environment: SRIOVCTL_ROOT).' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl list" o output' -s 'o' -l 'output' -d 'Output format: text or json (default: text); yaml for device-plugin-config.' -rfka 'text json yaml'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl list" version' -l 'version' -d 'Show the version.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl create-vfs" root' -l 'root' -d 'Read and change the host beneath DIR instead of / (environment: SRIOVCTL_ROOT).' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl create-vfs" o output' -s 'o' -l 'output' -d 'Output format: text or json (default: text); yaml for device-plugin-config.' -rfka 'text json yaml'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl create-vfs" count' -l 'count' -d 'The number of VFs, from 0 to the PF\'s total (required).' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl create-vfs"' -l 'driver' -d 'Bind VFs to this driver (vfio-pci for DPDK) through driver_override, or to kernel: their own driver.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl create-vfs" autoprobe' -l 'autoprobe' -d 'Probe new VFs\' drivers automatically (sriov_drivers_autoprobe).' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl create-vfs"' -l 'mac' -d 'VF MAC, or auto for a stable address derived from the PF\'s permanent MAC.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl create-vfs"' -l 'vlan' -d 'VF VLAN ID, 0 for none.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl create-vfs"' -l 'trust' -d 'Let the VF change its MAC and use promiscuous modes.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl create-vfs"' -l 'spoofchk' -d 'Drop frames the VF sends with a MAC other than its own.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl create-vfs"' -l 'link-state' -d 'VF link: follow the PF, always up, or always down.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl create-vfs"' -l 'max-tx-rate' -d 'VF transmit limit in Mbps, 0 for none.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl create-vfs" mtu' -l 'mtu' -d 'The PF\'s MTU.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl create-vfs" timeout' -l 'timeout' -d 'Seconds to wait for the kernel, the VF drivers and udev.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl create-vfs" wait-for-pf' -l 'wait-for-pf' -d 'Wait (within --timeout) for the PF\'s driver and interface, as at boot.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl create-vfs" force' -l 'force' -d 'Change the VF count even when VFs are in use.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl create-vfs" dry-run' -l 'dry-run' -d 'Print what would change and change nothing.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl create-vfs" version' -l 'version' -d 'Show the version.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl create-vfs" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl apply" root' -l 'root' -d 'Read and change the host beneath DIR instead of / (environment: SRIOVCTL_ROOT).' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl apply" o output' -s 'o' -l 'output' -d 'Output format: text or json (default: text); yaml for device-plugin-config.' -rfka 'text json yaml'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl apply" f file' -s 'f' -l 'file' -d 'The node file (- for standard input; default: ROOT/etc/sriovctl/sriovctl.yaml).' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl apply" dry-run' -l 'dry-run' -d 'Print the plan and change nothing.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl apply" force' -l 'force' -d 'Change a VF count even when VFs are in use.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl apply" boot' -l 'boot' -d 'At boot: wait for udev\'s queue, then for each PF\'s driver and interface.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl apply" timeout' -l 'timeout' -d 'Seconds for the whole run.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl apply" version' -l 'version' -d 'Show the version.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl apply" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl verify" root' -l 'root' -d 'Read and change the host beneath DIR instead of / (environment: SRIOVCTL_ROOT).' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl verify" o output' -s 'o' -l 'output' -d 'Output format: text or json (default: text); yaml for device-plugin-config.' -rfka 'text json yaml'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl verify" f file' -s 'f' -l 'file' -d 'The node file (- for standard input; default: ROOT/etc/sriovctl/sriovctl.yaml).' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl verify" version' -l 'version' -d 'Show the version.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl verify" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl persist" root' -l 'root' -d 'Read and change the host beneath DIR instead of / (environment: SRIOVCTL_ROOT).' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl persist" o output' -s 'o' -l 'output' -d 'Output format: text or json (default: text); yaml for device-plugin-config.' -rfka 'text json yaml'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl persist" config' -l 'config' -d 'The node unit: sriovctl.service runs \'sriovctl apply --boot\' on the node file at every boot.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl persist" f file' -s 'f' -l 'file' -d 'The node file (- for standard input; default: ROOT/etc/sriovctl/sriovctl.yaml).' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl persist" method' -l 'method' -d 'udev, systemd or link.' -rfka 'udev systemd link'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl persist" install' -l 'install' -d 'Write the file under ROOT/etc and reload udev or systemd.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl persist" remove' -l 'remove' -d 'Remove the files sriovctl wrote for the PF (with --method, only that one).'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl persist" count' -l 'count' -d 'The number of VFs, from 0 to the PF\'s total (required).' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl persist"' -l 'driver' -d 'Bind VFs to this driver (vfio-pci for DPDK) through driver_override, or to kernel: their own driver.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl persist" autoprobe' -l 'autoprobe' -d 'Probe new VFs\' drivers automatically (sriov_drivers_autoprobe).' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl persist"' -l 'mac' -d 'VF MAC, or auto for a stable address derived from the PF\'s permanent MAC.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl persist"' -l 'vlan' -d 'VF VLAN ID, 0 for none.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl persist"' -l 'trust' -d 'Let the VF change its MAC and use promiscuous modes.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl persist"' -l 'spoofchk' -d 'Drop frames the VF sends with a MAC other than its own.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl persist"' -l 'link-state' -d 'VF link: follow the PF, always up, or always down.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl persist"' -l 'max-tx-rate' -d 'VF transmit limit in Mbps, 0 for none.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl persist" mtu' -l 'mtu' -d 'The PF\'s MTU.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl persist" timeout' -l 'timeout' -d 'Seconds to wait for the kernel, the VF drivers and udev.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl persist" version' -l 'version' -d 'Show the version.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl persist" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl label" root' -l 'root' -d 'Read and change the host beneath DIR instead of / (environment: SRIOVCTL_ROOT).' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl label" o output' -s 'o' -l 'output' -d 'Output format: text or json (default: text); yaml for device-plugin-config.' -rfka 'text json yaml'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl label" node' -l 'node' -d 'The node (default: this host\'s name, lowercased).' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl label" kubectl' -l 'kubectl' -d 'The kubectl to run (default: kubectl from PATH).' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl label" kubeconfig' -l 'kubeconfig' -d 'Passed to kubectl.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl label" context' -l 'context' -d 'Passed to kubectl.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl label"' -l 'label' -d 'Another label to set; repeatable.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl label" prefix' -l 'prefix' -d 'The prefix of the fact labels.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl label" remove' -l 'remove' -d 'Remove the labels this command sets.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl label" dry-run' -l 'dry-run' -d 'Print the kubectl command and change nothing.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl label" version' -l 'version' -d 'Show the version.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl label" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl device-plugin-config" root' -l 'root' -d 'Read and change the host beneath DIR instead of / (environment: SRIOVCTL_ROOT).' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl device-plugin-config" o output' -s 'o' -l 'output' -d 'Output format: text or json (default: text); yaml for device-plugin-config.' -rfka 'text json yaml'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl device-plugin-config"' -l 'pf' -d 'Only this PF, or PF#RANGES of its VFs; repeatable.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl device-plugin-config" group-by' -l 'group-by' -d 'pf (default) or vendor.' -rfka 'pf vendor'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl device-plugin-config" f file' -s 'f' -l 'file' -d 'The node file (- for standard input; default: ROOT/etc/sriovctl/sriovctl.yaml).' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl device-plugin-config" resource-name' -l 'resource-name' -d 'The name of the one resource made.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl device-plugin-config" resource-prefix' -l 'resource-prefix' -d 'The resources\' prefix.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl device-plugin-config" namespace' -l 'namespace' -d 'The ConfigMap\'s namespace.' -rfka ''
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl device-plugin-config" raw' -l 'raw' -d 'Print only config.json.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl device-plugin-config" version' -l 'version' -d 'Show the version.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl device-plugin-config" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'sriovctl' -n '__sriovctl_should_offer_completions_for_flags_or_options "sriovctl help" version' -l 'version' -d 'Show the version.'
