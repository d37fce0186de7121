# SPDX-License-Identifier: MIT
# bash completion for kpgo. Subcommands and options are read from kpgo's own --help, once per
# shell and command, so they always match the installed binary.

_kpgo_help_words() {  # SUBCOMMAND (or empty): the options, or the subcommands, its --help lists
  local key=_kpgo_cache_${1:-top}
  if [[ -z ${!key-} ]]; then
    local help
    help=$(kpgo ${1:+"$1"} --help 2> /dev/null) || return
    if [[ $2 == commands ]]; then
      printf -v "$key" '%s ' $(sed -n '/^Subcommands:/,$ s/^  \([a-z][a-z-]*\) .*/\1/p' <<< "$help")
    else
      printf -v "$key" '%s ' $(grep -oE '(^|[ ,])--?[a-zA-Z][a-zA-Z0-9-]*' <<< "$help" | tr -d ' ,')
    fi
  fi
  printf '%s' "${!key}"
}

_kpgo() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} sub="" word
  for word in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    [[ $word != -* ]] && { sub=$word; break; }
  done
  case $prev in
    --source | --workdir | --config | --fragment | --workload | --file | --profile | -o | --output | \
      -f | --input-files | --boot-command | --pack | --unpack)
      COMPREPLY=($(compgen -f -- "$cur"))
      compopt -o filenames 2> /dev/null
      return ;;
    --failure-mode) COMPREPLY=($(compgen -W "any all warn" -- "$cur")); return ;;
    --stage) COMPREPLY=($(compgen -W "collect merge optimize bench" -- "$cur")); return ;;
    --accel) COMPREPLY=($(compgen -W "tcg kvm" -- "$cur")); return ;;
    --arch) COMPREPLY=($(compgen -W "x86_64 arm64" -- "$cur")); return ;;
    --qemu-cpu) COMPREPLY=($(compgen -W "max cortex-a57 cortex-a72 qemu64 host" -- "$cur")); return ;;
    --llvm) COMPREPLY=($(compgen -W "1 -16 -19 -22 /usr/lib/llvm-19/bin/" -- "$cur")); return ;;
  esac
  if [[ -z $sub ]]; then
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W "$(_kpgo_help_words '' options)" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "$(_kpgo_help_words '' commands)" -- "$cur"))
    fi
  elif [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_kpgo_help_words "$sub" options)" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
    compopt -o filenames 2> /dev/null
  fi
}
complete -F _kpgo kpgo
