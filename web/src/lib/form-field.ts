/** A text field of a submitted form, "" when it is absent (or a file). */
export function formField(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === "string" ? value : "";
}
