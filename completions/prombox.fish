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
complete -c prombox -n "__fish_prombox_needs_command" -f -a "store" -d 'Ingest expositions (text or OpenMetrics) into a data dir'
complete -c prombox -n "__fish_prombox_needs_command" -f -a "compact" -d 'Turn stored segments into compressed blocks; apply deletes and retention'
complete -c prombox -n "__fish_prombox_needs_command" -f -a "inspect" -d 'List a data dir\'s blocks and segments, top series; verify checksums'
complete -c prombox -n "__fish_prombox_needs_command" -f -a "export" -d 'Stream stored samples out as OpenMetrics, JSON lines or CSV'
complete -c prombox -n "__fish_prombox_needs_command" -f -a "delete" -d 'Delete series samples (a tombstone, applied by compact)'
complete -c prombox -n "__fish_prombox_needs_command" -f -a "query" -d 'Run a PromQL instant or range query'
complete -c prombox -n "__fish_prombox_needs_command" -f -a "series" -d 'List the series matching selectors'
complete -c prombox -n "__fish_prombox_needs_command" -f -a "scrape" -d 'Scrape targets (a prometheus.yml, or this host) into a data dir'
complete -c prombox -n "__fish_prombox_needs_command" -f -a "collect" -d 'Print this host\'s metrics (the built-in collector) as an exposition'
complete -c prombox -n "__fish_prombox_needs_command" -f -a "targets" -d 'List the targets a Prometheus config discovers, before and after relabeling'
complete -c prombox -n "__fish_prombox_needs_command" -f -a "labels" -d 'List label names, or one label\'s values'
complete -c prombox -n "__fish_prombox_needs_command" -f -a "test" -d 'Run PromQL test scripts (load/eval format)'
complete -c prombox -n "__fish_prombox_needs_command" -f -a "rules" -d 'Check rule files and run rule unit tests (promtool\'s formats)'
complete -c prombox -n "__fish_prombox_needs_command" -f -a "push" -d 'Push metrics to a Pushgateway (or prombox gateway), or delete a group'
complete -c prombox -n "__fish_prombox_needs_command" -f -a "gateway" -d 'Run a Pushgateway-compatible server whose acknowledged pushes survive a crash'
complete -c prombox -n "__fish_prombox_needs_command" -f -a "alert" -d 'Send alerts to Alertmanager'
complete -c prombox -n "__fish_prombox_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c prombox -n "__fish_prombox_using_subcommand check; and not __fish_seen_subcommand_from metrics config help" -s h -l help -d 'Print help'
complete -c prombox -n "__fish_prombox_using_subcommand check; and not __fish_seen_subcommand_from metrics config help" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand check; and not __fish_seen_subcommand_from metrics config help" -f -a "metrics" -d 'Validate expositions and lint them like promtool\'s check metrics'
complete -c prombox -n "__fish_prombox_using_subcommand check; and not __fish_seen_subcommand_from metrics config help" -f -a "config" -d 'Validate Prometheus configuration files like promtool\'s check config'
complete -c prombox -n "__fish_prombox_using_subcommand check; and not __fish_seen_subcommand_from metrics config help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c prombox -n "__fish_prombox_using_subcommand check; and __fish_seen_subcommand_from metrics" -l format -d 'Input format' -r -f -a "auto\t'OpenMetrics if the input ends with `# EOF`, text otherwise'
text\t'Prometheus text format 0.0.4'
openmetrics\t'OpenMetrics 1.0 text'"
complete -c prombox -n "__fish_prombox_using_subcommand check; and __fish_seen_subcommand_from metrics" -l lint -d 'Which lints to run' -r -f -a "all\t'All of promtool\'s lints'
none\t'Only check validity'"
complete -c prombox -n "__fish_prombox_using_subcommand check; and __fish_seen_subcommand_from metrics" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c prombox -n "__fish_prombox_using_subcommand check; and __fish_seen_subcommand_from metrics" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand check; and __fish_seen_subcommand_from config" -s h -l help -d 'Print help'
complete -c prombox -n "__fish_prombox_using_subcommand check; and __fish_seen_subcommand_from config" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand check; and __fish_seen_subcommand_from help" -f -a "metrics" -d 'Validate expositions and lint them like promtool\'s check metrics'
complete -c prombox -n "__fish_prombox_using_subcommand check; and __fish_seen_subcommand_from help" -f -a "config" -d 'Validate Prometheus configuration files like promtool\'s check config'
complete -c prombox -n "__fish_prombox_using_subcommand check; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c prombox -n "__fish_prombox_using_subcommand store" -l data -d 'The data dir (`store` and `scrape` create it)' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand store" -l label -d 'Set a label on every series, replacing one of the same name (repeatable)' -r
complete -c prombox -n "__fish_prombox_using_subcommand store" -l format -d 'Input format' -r -f -a "auto\t'OpenMetrics if the input ends with `# EOF`, text otherwise'
text\t'Prometheus text format 0.0.4'
openmetrics\t'OpenMetrics 1.0 text'"
complete -c prombox -n "__fish_prombox_using_subcommand store" -l skip-invalid -d 'Store the valid samples, report invalid lines and go on'
complete -c prombox -n "__fish_prombox_using_subcommand store" -s v -l verbose -d 'Print what was stored even when stderr is not a terminal'
complete -c prombox -n "__fish_prombox_using_subcommand store" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c prombox -n "__fish_prombox_using_subcommand store" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand compact" -l data -d 'The data dir (`store` and `scrape` create it)' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand compact" -l retention -d 'Delete blocks entirely older than this before the newest sample (PromQL duration)' -r
complete -c prombox -n "__fish_prombox_using_subcommand compact" -l retention-size -d 'Delete the oldest blocks until the data dir fits (e.g. 10GiB; KB, MB… are 1024-based)' -r
complete -c prombox -n "__fish_prombox_using_subcommand compact" -s q -l quiet -d 'Print nothing, even on a terminal'
complete -c prombox -n "__fish_prombox_using_subcommand compact" -s v -l verbose -d 'Print what was done even when stderr is not a terminal (under cron a successful run prints nothing)'
complete -c prombox -n "__fish_prombox_using_subcommand compact" -s h -l help -d 'Print help'
complete -c prombox -n "__fish_prombox_using_subcommand compact" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand inspect" -l data -d 'The data dir (`store` and `scrape` create it)' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand inspect" -l top -d 'How many metric names and label pairs to list (0: none)' -r
complete -c prombox -n "__fish_prombox_using_subcommand inspect" -l verify -d 'Check every checksum and decode every chunk; exit 1 on any corruption'
complete -c prombox -n "__fish_prombox_using_subcommand inspect" -s h -l help -d 'Print help'
complete -c prombox -n "__fish_prombox_using_subcommand inspect" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand export" -l data -d 'The data dir (`store` and `scrape` create it)' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand export" -l match -d 'Series selector (repeatable: series matching any; default: all series)' -r
complete -c prombox -n "__fish_prombox_using_subcommand export" -l start -d 'From this time: RFC 3339, Unix seconds, now, now-1h, or -1h (before now)' -r
complete -c prombox -n "__fish_prombox_using_subcommand export" -l end -d 'Up to this time, inclusive (the same forms)' -r
complete -c prombox -n "__fish_prombox_using_subcommand export" -l since -d 'From this long ago: `--since 1h` is `--start -1h`' -r
complete -c prombox -n "__fish_prombox_using_subcommand export" -l format -d 'Output format' -r -f -a "openmetrics\t'OpenMetrics text, ending with # EOF'
jsonl\t'One JSON object per series and line'
csv\t'series,timestamp,value'"
complete -c prombox -n "__fish_prombox_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c prombox -n "__fish_prombox_using_subcommand export" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand delete" -l data -d 'The data dir (`store` and `scrape` create it)' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand delete" -l match -d 'Series selector (repeatable: a series matching any is deleted)' -r
complete -c prombox -n "__fish_prombox_using_subcommand delete" -l start -d 'From this time: RFC 3339, Unix seconds, now, now-1h, or -1h (before now)' -r
complete -c prombox -n "__fish_prombox_using_subcommand delete" -l end -d 'Up to this time, inclusive (the same forms)' -r
complete -c prombox -n "__fish_prombox_using_subcommand delete" -l since -d 'From this long ago: `--since 1h` is `--start -1h`' -r
complete -c prombox -n "__fish_prombox_using_subcommand delete" -s v -l verbose -d 'Say what was recorded even when stderr is not a terminal'
complete -c prombox -n "__fish_prombox_using_subcommand delete" -s h -l help -d 'Print help'
complete -c prombox -n "__fish_prombox_using_subcommand delete" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand query" -l data -d 'The data dir (`store` and `scrape` create it)' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand query" -l time -d 'Evaluation time of an instant query: RFC 3339, Unix seconds, now, now-1h, or -30m (before now) [default: now]' -r
complete -c prombox -n "__fish_prombox_using_subcommand query" -l start -d 'Start of a range query (the same forms as --time)' -r
complete -c prombox -n "__fish_prombox_using_subcommand query" -l since -d 'A range query over the last DURATION: `--since 1h` is `--start -1h`' -r
complete -c prombox -n "__fish_prombox_using_subcommand query" -l end -d 'End of a range query [default: now]' -r
complete -c prombox -n "__fish_prombox_using_subcommand query" -l step -d 'Step of a range query (default: the range / 250, at least 1s)' -r
complete -c prombox -n "__fish_prombox_using_subcommand query" -l format -d 'Output format' -r -f -a "table\t'Aligned columns for reading'
json\t'The Prometheus HTTP API response'
jsonl\t'One JSON object per series'
csv\t'Comma-separated, one row per sample'
tsv\t'Tab-separated, one row per sample'
chart\t'A terminal line chart (range queries)'"
complete -c prombox -n "__fish_prombox_using_subcommand query" -l lookback-delta -d 'How far back an instant selector looks for a sample' -r
complete -c prombox -n "__fish_prombox_using_subcommand query" -l max-samples -d 'The most samples the query may hold in memory at once' -r
complete -c prombox -n "__fish_prombox_using_subcommand query" -l timeout -d 'Give up after this long' -r
complete -c prombox -n "__fish_prombox_using_subcommand query" -l explain -d 'Print the expression\'s canonical form and exit (no data dir needed)'
complete -c prombox -n "__fish_prombox_using_subcommand query" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c prombox -n "__fish_prombox_using_subcommand query" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand series" -l match -d 'Series selector (repeatable: series matching any)' -r
complete -c prombox -n "__fish_prombox_using_subcommand series" -l data -d 'The data dir (`store` and `scrape` create it)' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand series" -l start -d 'From this time: RFC 3339, Unix seconds, now, now-1h, or -1h (before now)' -r
complete -c prombox -n "__fish_prombox_using_subcommand series" -l end -d 'Up to this time, inclusive (the same forms)' -r
complete -c prombox -n "__fish_prombox_using_subcommand series" -l since -d 'From this long ago: `--since 1h` is `--start -1h`' -r
complete -c prombox -n "__fish_prombox_using_subcommand series" -l format -d 'Output format' -r -f -a "text\t'One per line'
json\t'The Prometheus HTTP API response'"
complete -c prombox -n "__fish_prombox_using_subcommand series" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c prombox -n "__fish_prombox_using_subcommand series" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand scrape" -l config -d 'A Prometheus configuration file (its global and scrape_configs sections); without it, the built-in host collector is scraped as job "node"' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand scrape" -l data -d 'The data dir (`store` and `scrape` create it)' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand scrape" -l output -d 'Write OpenMetrics with timestamps to FILE (`-`: standard output) instead of the data dir (--data and PROMBOX_DATA are then not used)' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand scrape" -l job -d 'Only these jobs (repeatable)' -r
complete -c prombox -n "__fish_prombox_using_subcommand scrape" -l concurrency -d 'The most targets scraped at once' -r
complete -c prombox -n "__fish_prombox_using_subcommand scrape" -l every -d 'Keep scraping, each job on its scrape_interval, until SIGTERM or Ctrl-C (the round in flight completes)'
complete -c prombox -n "__fish_prombox_using_subcommand scrape" -s v -l verbose -d 'Print each round\'s summary even when stderr is not a terminal (failing targets are always reported)'
complete -c prombox -n "__fish_prombox_using_subcommand scrape" -s h -l help -d 'Print help'
complete -c prombox -n "__fish_prombox_using_subcommand scrape" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand collect" -s h -l help -d 'Print help'
complete -c prombox -n "__fish_prombox_using_subcommand collect" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand targets" -l config -d 'The Prometheus configuration file' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand targets" -l job -d 'Only these jobs (repeatable)' -r
complete -c prombox -n "__fish_prombox_using_subcommand targets" -l format -d 'Output format' -r -f -a "table\t'Aligned columns for humans'
json\t'The HTTP API\'s response shape'"
complete -c prombox -n "__fish_prombox_using_subcommand targets" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c prombox -n "__fish_prombox_using_subcommand targets" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand labels" -l match -d 'Only series matching this selector (repeatable: any)' -r
complete -c prombox -n "__fish_prombox_using_subcommand labels" -l data -d 'The data dir (`store` and `scrape` create it)' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand labels" -l start -d 'From this time: RFC 3339, Unix seconds, now, now-1h, or -1h (before now)' -r
complete -c prombox -n "__fish_prombox_using_subcommand labels" -l end -d 'Up to this time, inclusive (the same forms)' -r
complete -c prombox -n "__fish_prombox_using_subcommand labels" -l since -d 'From this long ago: `--since 1h` is `--start -1h`' -r
complete -c prombox -n "__fish_prombox_using_subcommand labels" -l format -d 'Output format' -r -f -a "text\t'One per line'
json\t'The Prometheus HTTP API response'"
complete -c prombox -n "__fish_prombox_using_subcommand labels" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c prombox -n "__fish_prombox_using_subcommand labels" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand test" -s v -l verbose -d 'List every skipped case with its reason (default: counts per reason)'
complete -c prombox -n "__fish_prombox_using_subcommand test" -s h -l help -d 'Print help'
complete -c prombox -n "__fish_prombox_using_subcommand test" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand rules; and not __fish_seen_subcommand_from check test eval help" -s h -l help -d 'Print help'
complete -c prombox -n "__fish_prombox_using_subcommand rules; and not __fish_seen_subcommand_from check test eval help" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand rules; and not __fish_seen_subcommand_from check test eval help" -f -a "check" -d 'Check rule files like promtool check rules, plus static checks'
complete -c prombox -n "__fish_prombox_using_subcommand rules; and not __fish_seen_subcommand_from check test eval help" -f -a "test" -d 'Run rule unit tests in promtool\'s format, like promtool test rules'
complete -c prombox -n "__fish_prombox_using_subcommand rules; and not __fish_seen_subcommand_from check test eval help" -f -a "eval" -d 'Evaluate rules over a data dir: one cron round, or a backfill'
complete -c prombox -n "__fish_prombox_using_subcommand rules; and not __fish_seen_subcommand_from check test eval help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from check" -l lint -d 'promtool\'s lints, comma-separated: duplicate-rules, all, none' -r
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from check" -l format -d 'Output format' -r -f -a "text\t'promtool\'s text'
json\t'One JSON document: files, their errors and findings'
github\t'GitHub Actions workflow commands (::error file=...)'
checkstyle\t'Checkstyle XML, as CI systems read it'"
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from check" -l disable -d 'Turn a static check off everywhere (repeatable); see the README for the ids' -r
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from check" -l fail-on -d 'Exit 3 when a static check finds something this severe or worse' -r -f -a "bug\t''
warning\t''
info\t''"
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from check" -l config -d 'Take scrape and evaluation intervals from this Prometheus configuration' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from check" -l lint-fatal -d 'Exit 3 when lint problems are found'
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from check" -l ignore-unknown-fields -d 'Accept fields the rule file format does not know'
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from check" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from test" -l run -d 'Only run test groups whose name matches this regex (repeatable; any may match)' -r
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from test" -l junit -d 'Also write the results as JUnit XML to this file' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from test" -l diff -d 'Show alert mismatches as a diff only'
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from test" -l debug -d 'Print each test\'s start and duration, and all data at the end, to stderr'
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from test" -l ignore-unknown-fields -d 'Accept fields the rule file format does not know (in the rule files)'
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from test" -s h -l help -d 'Print help'
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from test" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from eval" -l data -d 'The data dir (`store` and `scrape` create it)' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from eval" -l config -d 'A prometheus.yml: its rule_files, evaluation_interval, rule_query_offset and external_labels' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from eval" -l at -d 'Evaluate every group once at this time instead of at its due slots' -r
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from eval" -l start -d 'Backfill from this time (with --end)' -r
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from eval" -l end -d 'Backfill up to this time, inclusive' -r
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from eval" -l eval-interval -d 'The interval of groups that set none [default: the config\'s evaluation_interval, or 1m]' -r
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from eval" -l max-catch-up -d 'Missed slots older than this are not caught up (a warning says so)' -r
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from eval" -l external-url -d 'The URL Prometheus would be reached at: `$externalURL` in templates and the base of each alert\'s generatorURL [default: http://HOSTNAME:9090]' -r
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from eval" -l lookback-delta -d 'How far back an instant selector looks for a sample' -r
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from eval" -l format -d 'Output format' -r -f -a "jsonl\t'One alert per line, Alertmanager\'s API v2 shape'
table\t'Aligned columns, for a person'"
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from eval" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from eval" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from help" -f -a "check" -d 'Check rule files like promtool check rules, plus static checks'
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from help" -f -a "test" -d 'Run rule unit tests in promtool\'s format, like promtool test rules'
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from help" -f -a "eval" -d 'Evaluate rules over a data dir: one cron round, or a backfill'
complete -c prombox -n "__fish_prombox_using_subcommand rules; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c prombox -n "__fish_prombox_using_subcommand push" -l job -d 'The job label of the group' -r
complete -c prombox -n "__fish_prombox_using_subcommand push" -l label -d 'A further grouping label (repeatable)' -r
complete -c prombox -n "__fish_prombox_using_subcommand push" -l ttl -d 'The group expires this long after the push (prombox gateway only)' -r
complete -c prombox -n "__fish_prombox_using_subcommand push" -l type -d 'The type of NAME=VALUE metrics' -r -f -a "gauge\t''
counter\t''
untyped\t''"
complete -c prombox -n "__fish_prombox_using_subcommand push" -l help-text -d 'The HELP text of NAME=VALUE metrics' -r
complete -c prombox -n "__fish_prombox_using_subcommand push" -l user -d 'Basic auth user name' -r
complete -c prombox -n "__fish_prombox_using_subcommand push" -l password-file -d 'File holding the basic auth password' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand push" -l bearer-token-file -d 'File holding a bearer token' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand push" -l header -d 'An extra request header (repeatable)' -r
complete -c prombox -n "__fish_prombox_using_subcommand push" -l ca-file -d 'CA certificate(s) to verify the server with (PEM)' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand push" -l cert-file -d 'Client certificate (PEM), with --key-file' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand push" -l key-file -d 'Client key (PEM), with --cert-file' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand push" -l timeout -d 'Give up on an attempt after this long' -r
complete -c prombox -n "__fish_prombox_using_subcommand push" -l retries -d 'Retry this many times on connection errors and 5xx replies, with backoff' -r
complete -c prombox -n "__fish_prombox_using_subcommand push" -l add -d 'POST: replace only the metric names pushed (default: PUT, replace the group)'
complete -c prombox -n "__fish_prombox_using_subcommand push" -l delete -d 'DELETE the group'
complete -c prombox -n "__fish_prombox_using_subcommand push" -l partial -d 'With --delete: every group whose key holds the given labels (prombox gateway only)'
complete -c prombox -n "__fish_prombox_using_subcommand push" -l insecure-skip-verify -d 'Do not verify the server\'s certificate'
complete -c prombox -n "__fish_prombox_using_subcommand push" -s h -l help -d 'Print help'
complete -c prombox -n "__fish_prombox_using_subcommand push" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand gateway" -l listen -d 'Address to listen on (`:9091` listens on every interface)' -r
complete -c prombox -n "__fish_prombox_using_subcommand gateway" -l data -d 'The state directory (created if missing)' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand gateway" -l ttl -d 'Expire groups not pushed to within this long (a push may set its own TTL with `?ttl=` or an `X-Prombox-TTL` header)' -r
complete -c prombox -n "__fish_prombox_using_subcommand gateway" -l max-body -d 'The largest request body, after gzip decoding' -r
complete -c prombox -n "__fish_prombox_using_subcommand gateway" -l max-groups -d 'Groups held at most; a push creating one more is refused (429)' -r
complete -c prombox -n "__fish_prombox_using_subcommand gateway" -l max-series -d 'Series in one group at most; a larger push is refused (413)' -r
complete -c prombox -n "__fish_prombox_using_subcommand gateway" -l web.config.file -d 'TLS, basic auth and response headers, in the web config file format of Prometheus\'s servers (tls_server_config, basic_auth_users with bcrypt hashes, http_server_config)' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand gateway" -l max-connections -d 'Open connections at most; more are answered 503' -r
complete -c prombox -n "__fish_prombox_using_subcommand gateway" -l format -d 'The format of --once' -r -f -a "text\t''
openmetrics\t''"
complete -c prombox -n "__fish_prombox_using_subcommand gateway" -l enable-admin-api -d 'Serve PUT /api/v1/admin/wipe (deletes every group)'
complete -c prombox -n "__fish_prombox_using_subcommand gateway" -l enable-openmetrics -d 'Serve OpenMetrics to scrapes that prefer it (Prometheus does). The Pushgateway serves only text and protobuf; with OpenMetrics a counter not named *_total gains the suffix'
complete -c prombox -n "__fish_prombox_using_subcommand gateway" -l once -d 'Print the groups in DIR as an exposition and exit (no server; safe beside one)'
complete -c prombox -n "__fish_prombox_using_subcommand gateway" -s h -l help -d 'Print help'
complete -c prombox -n "__fish_prombox_using_subcommand gateway" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand alert; and not __fish_seen_subcommand_from send help" -s h -l help -d 'Print help'
complete -c prombox -n "__fish_prombox_using_subcommand alert; and not __fish_seen_subcommand_from send help" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand alert; and not __fish_seen_subcommand_from send help" -f -a "send" -d 'POST alerts to Alertmanagers\' /api/v2/alerts, in batches'
complete -c prombox -n "__fish_prombox_using_subcommand alert; and not __fish_seen_subcommand_from send help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c prombox -n "__fish_prombox_using_subcommand alert; and __fish_seen_subcommand_from send" -l alertmanager -d 'An Alertmanager, as http(s)://HOST:PORT[/PREFIX] (repeatable; http:// is assumed)' -r
complete -c prombox -n "__fish_prombox_using_subcommand alert; and __fish_seen_subcommand_from send" -l webhook -d 'Instead of an Alertmanager, POST Alertmanager\'s webhook payload (version 4, all alerts in one group) straight to this receiver (repeatable; each must take it)' -r
complete -c prombox -n "__fish_prombox_using_subcommand alert; and __fish_seen_subcommand_from send" -l config -d 'A prometheus.yml: its alerting.alertmanagers (static_configs, with their scheme, path_prefix, timeout, credentials and TLS), alert_relabel_configs and external labels' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand alert; and __fish_seen_subcommand_from send" -l batch -d 'Alerts per request at most' -r
complete -c prombox -n "__fish_prombox_using_subcommand alert; and __fish_seen_subcommand_from send" -l user -d 'Basic auth user name' -r
complete -c prombox -n "__fish_prombox_using_subcommand alert; and __fish_seen_subcommand_from send" -l password-file -d 'File holding the basic auth password' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand alert; and __fish_seen_subcommand_from send" -l bearer-token-file -d 'File holding a bearer token' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand alert; and __fish_seen_subcommand_from send" -l header -d 'An extra request header (repeatable)' -r
complete -c prombox -n "__fish_prombox_using_subcommand alert; and __fish_seen_subcommand_from send" -l ca-file -d 'CA certificate(s) to verify the server with (PEM)' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand alert; and __fish_seen_subcommand_from send" -l cert-file -d 'Client certificate (PEM), with --key-file' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand alert; and __fish_seen_subcommand_from send" -l key-file -d 'Client key (PEM), with --cert-file' -r -F
complete -c prombox -n "__fish_prombox_using_subcommand alert; and __fish_seen_subcommand_from send" -l timeout -d 'Give up on an attempt after this long (Prometheus\'s default)' -r
complete -c prombox -n "__fish_prombox_using_subcommand alert; and __fish_seen_subcommand_from send" -l retries -d 'Retry this many times on connection errors and 5xx replies, with backoff' -r
complete -c prombox -n "__fish_prombox_using_subcommand alert; and __fish_seen_subcommand_from send" -l insecure-skip-verify -d 'Do not verify the server\'s certificate'
complete -c prombox -n "__fish_prombox_using_subcommand alert; and __fish_seen_subcommand_from send" -s h -l help -d 'Print help'
complete -c prombox -n "__fish_prombox_using_subcommand alert; and __fish_seen_subcommand_from send" -s V -l version -d 'Print version'
complete -c prombox -n "__fish_prombox_using_subcommand alert; and __fish_seen_subcommand_from help" -f -a "send" -d 'POST alerts to Alertmanagers\' /api/v2/alerts, in batches'
complete -c prombox -n "__fish_prombox_using_subcommand alert; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c prombox -n "__fish_prombox_using_subcommand help; and not __fish_seen_subcommand_from check store compact inspect export delete query series scrape collect targets labels test rules push gateway alert help" -f -a "check" -d 'Check expositions for errors and lint problems'
complete -c prombox -n "__fish_prombox_using_subcommand help; and not __fish_seen_subcommand_from check store compact inspect export delete query series scrape collect targets labels test rules push gateway alert help" -f -a "store" -d 'Ingest expositions (text or OpenMetrics) into a data dir'
complete -c prombox -n "__fish_prombox_using_subcommand help; and not __fish_seen_subcommand_from check store compact inspect export delete query series scrape collect targets labels test rules push gateway alert help" -f -a "compact" -d 'Turn stored segments into compressed blocks; apply deletes and retention'
complete -c prombox -n "__fish_prombox_using_subcommand help; and not __fish_seen_subcommand_from check store compact inspect export delete query series scrape collect targets labels test rules push gateway alert help" -f -a "inspect" -d 'List a data dir\'s blocks and segments, top series; verify checksums'
complete -c prombox -n "__fish_prombox_using_subcommand help; and not __fish_seen_subcommand_from check store compact inspect export delete query series scrape collect targets labels test rules push gateway alert help" -f -a "export" -d 'Stream stored samples out as OpenMetrics, JSON lines or CSV'
complete -c prombox -n "__fish_prombox_using_subcommand help; and not __fish_seen_subcommand_from check store compact inspect export delete query series scrape collect targets labels test rules push gateway alert help" -f -a "delete" -d 'Delete series samples (a tombstone, applied by compact)'
complete -c prombox -n "__fish_prombox_using_subcommand help; and not __fish_seen_subcommand_from check store compact inspect export delete query series scrape collect targets labels test rules push gateway alert help" -f -a "query" -d 'Run a PromQL instant or range query'
complete -c prombox -n "__fish_prombox_using_subcommand help; and not __fish_seen_subcommand_from check store compact inspect export delete query series scrape collect targets labels test rules push gateway alert help" -f -a "series" -d 'List the series matching selectors'
complete -c prombox -n "__fish_prombox_using_subcommand help; and not __fish_seen_subcommand_from check store compact inspect export delete query series scrape collect targets labels test rules push gateway alert help" -f -a "scrape" -d 'Scrape targets (a prometheus.yml, or this host) into a data dir'
complete -c prombox -n "__fish_prombox_using_subcommand help; and not __fish_seen_subcommand_from check store compact inspect export delete query series scrape collect targets labels test rules push gateway alert help" -f -a "collect" -d 'Print this host\'s metrics (the built-in collector) as an exposition'
complete -c prombox -n "__fish_prombox_using_subcommand help; and not __fish_seen_subcommand_from check store compact inspect export delete query series scrape collect targets labels test rules push gateway alert help" -f -a "targets" -d 'List the targets a Prometheus config discovers, before and after relabeling'
complete -c prombox -n "__fish_prombox_using_subcommand help; and not __fish_seen_subcommand_from check store compact inspect export delete query series scrape collect targets labels test rules push gateway alert help" -f -a "labels" -d 'List label names, or one label\'s values'
complete -c prombox -n "__fish_prombox_using_subcommand help; and not __fish_seen_subcommand_from check store compact inspect export delete query series scrape collect targets labels test rules push gateway alert help" -f -a "test" -d 'Run PromQL test scripts (load/eval format)'
complete -c prombox -n "__fish_prombox_using_subcommand help; and not __fish_seen_subcommand_from check store compact inspect export delete query series scrape collect targets labels test rules push gateway alert help" -f -a "rules" -d 'Check rule files and run rule unit tests (promtool\'s formats)'
complete -c prombox -n "__fish_prombox_using_subcommand help; and not __fish_seen_subcommand_from check store compact inspect export delete query series scrape collect targets labels test rules push gateway alert help" -f -a "push" -d 'Push metrics to a Pushgateway (or prombox gateway), or delete a group'
complete -c prombox -n "__fish_prombox_using_subcommand help; and not __fish_seen_subcommand_from check store compact inspect export delete query series scrape collect targets labels test rules push gateway alert help" -f -a "gateway" -d 'Run a Pushgateway-compatible server whose acknowledged pushes survive a crash'
complete -c prombox -n "__fish_prombox_using_subcommand help; and not __fish_seen_subcommand_from check store compact inspect export delete query series scrape collect targets labels test rules push gateway alert help" -f -a "alert" -d 'Send alerts to Alertmanager'
complete -c prombox -n "__fish_prombox_using_subcommand help; and not __fish_seen_subcommand_from check store compact inspect export delete query series scrape collect targets labels test rules push gateway alert help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c prombox -n "__fish_prombox_using_subcommand help; and __fish_seen_subcommand_from check" -f -a "metrics" -d 'Validate expositions and lint them like promtool\'s check metrics'
complete -c prombox -n "__fish_prombox_using_subcommand help; and __fish_seen_subcommand_from check" -f -a "config" -d 'Validate Prometheus configuration files like promtool\'s check config'
complete -c prombox -n "__fish_prombox_using_subcommand help; and __fish_seen_subcommand_from rules" -f -a "check" -d 'Check rule files like promtool check rules, plus static checks'
complete -c prombox -n "__fish_prombox_using_subcommand help; and __fish_seen_subcommand_from rules" -f -a "test" -d 'Run rule unit tests in promtool\'s format, like promtool test rules'
complete -c prombox -n "__fish_prombox_using_subcommand help; and __fish_seen_subcommand_from rules" -f -a "eval" -d 'Evaluate rules over a data dir: one cron round, or a backfill'
complete -c prombox -n "__fish_prombox_using_subcommand help; and __fish_seen_subcommand_from alert" -f -a "send" -d 'POST alerts to Alertmanagers\' /api/v2/alerts, in batches'
