# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_prombox_global_optspecs
    string join \n h/help V/version
end

function __fish_prombox_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_prombox_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_prombox_using_subcommand
    set -l cmd (__fish_prombox_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c prombox -n "__fish_prombox_needs_command" -s h -l help -d 'Print help'
complete -c prombox -n "__fish_prombox_needs_command" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_needs_command" -f -a "check" -d 'Check expositions for errors and lint problems'
complete -c prombox -n "__fish_prombox_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c prombox -n "__fish_prombox_using_subcommand check; and not __fish_seen_subcommand_from metrics help" -s h -l help -d 'Print help'
complete -c prombox -n "__fish_prombox_using_subcommand check; and not __fish_seen_subcommand_from metrics help" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand check; and not __fish_seen_subcommand_from metrics help" -f -a "metrics" -d 'Validate expositions and lint them like promtool\'s check metrics'
complete -c prombox -n "__fish_prombox_using_subcommand check; and not __fish_seen_subcommand_from metrics help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c prombox -n "__fish_prombox_using_subcommand check; and __fish_seen_subcommand_from metrics" -l format -d 'Input format' -r -f -a "auto\t'OpenMetrics if the input ends with `# EOF`, text otherwise'
text\t'Prometheus text format 0.0.4'
openmetrics\t'OpenMetrics 1.0 text'"
complete -c prombox -n "__fish_prombox_using_subcommand check; and __fish_seen_subcommand_from metrics" -l lint -d 'Which lints to run' -r -f -a "all\t'All of promtool\'s lints'
none\t'Only check validity'"
complete -c prombox -n "__fish_prombox_using_subcommand check; and __fish_seen_subcommand_from metrics" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c prombox -n "__fish_prombox_using_subcommand check; and __fish_seen_subcommand_from metrics" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand check; and __fish_seen_subcommand_from help" -f -a "metrics" -d 'Validate expositions and lint them like promtool\'s check metrics'
complete -c prombox -n "__fish_prombox_using_subcommand check; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c prombox -n "__fish_prombox_using_subcommand help; and not __fish_seen_subcommand_from check help" -f -a "check" -d 'Check expositions for errors and lint problems'
complete -c prombox -n "__fish_prombox_using_subcommand help; and not __fish_seen_subcommand_from check help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c prombox -n "__fish_prombox_using_subcommand help; and __fish_seen_subcommand_from check" -f -a "metrics" -d 'Validate expositions and lint them like promtool\'s check metrics'
