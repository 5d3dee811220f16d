/** Docker labels as the provider takes them, sorted so their order never shows as a change. */
export function dockerLabels(
  labels: Readonly<Record<string, string>>,
): { label: string; value: string }[] {
  return Object.keys(labels)
    .sort()
    .map((label) => ({ label, value: labels[label] }));
}
