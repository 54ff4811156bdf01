#!/usr/bin/env bash
# Bring the translation catalogues up to date with the source (needs GNU gettext):
#   scripts/update-messages.sh
# 1. xgettext collects every string marked with _(), N_(), ngettext(), pgettext() and the
#    message templates (template(), plural_template(), context_template()) in
#    every src/ukeytool/**/*.py into a template (a temporary ukeytool.pot; for a new language,
#    `msginit -i` that template into locale/<ll_CC>/LC_MESSAGES/ukeytool.po);
# 2. msgmerge adds new strings to each catalogue (locale/*/LC_MESSAGES/ukeytool.po), marks
#    changed ones fuzzy and keeps removed ones as obsolete (#~) entries;
# 3. msgfmt --check --statistics says what is left to translate.
# Then translate the empty and fuzzy entries (remove the "fuzzy" flag when done) and run
# `make test`: tests/test_i18n.py fails while a string has no translation.
set -euo pipefail
cd "$(dirname "$0")/.."
locale=src/ukeytool/locale
pot=$(mktemp --suffix=.pot)
trap 'rm -f "$pot"' EXIT
xgettext --language=Python --from-code=UTF-8 \
  --keyword=_ --keyword=N_ --keyword=ngettext:1,2 --keyword=pgettext:1c,2 \
  --keyword=template:2 --keyword=plural_template:2,3 --keyword=context_template:2c,3 \
  --add-comments=Translators: --sort-by-file --add-location=file --no-wrap \
  --package-name=ukeytool --msgid-bugs-address=https://ukeytool.invalid/issues \
  --output="$pot" $(find src/ukeytool -name "*.py" | sort)
for po in "$locale"/*/LC_MESSAGES/ukeytool.po; do
  msgmerge --quiet --update --backup=none --no-wrap "$po" "$pot"
  echo "$po:"
  msgfmt --check --statistics --output-file=/dev/null "$po"
done
