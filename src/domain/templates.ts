/** Quick-reply templates: {{requester.name}}, {{ticket.number}}, {{technician.name}} and friends. */
export interface TemplateContext {
  requester: { name: string; firstName: string; email: string };
  ticket: { number: number; title: string; status: string };
  technician: { name: string; firstName: string; email: string };
}

export const TEMPLATE_PLACEHOLDERS = [
  'requester.name', 'requester.firstName', 'requester.email',
  'ticket.number', 'ticket.title', 'ticket.status',
  'technician.name', 'technician.firstName', 'technician.email',
] as const;

export function unknownPlaceholders(body: string): string[] {
  const known = new Set<string>(TEMPLATE_PLACEHOLDERS);
  return [...body.matchAll(/\{\{\s*([\w.]+)\s*\}\}/g)].map((m) => m[1]!).filter((p) => !known.has(p));
}

export function renderTemplate(body: string, ctx: TemplateContext): string {
  return body.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (whole, key: string) => {
    const [scope, field] = key.split('.') as [keyof TemplateContext, string];
    const value = (ctx[scope] as Record<string, unknown> | undefined)?.[field];
    return value === undefined || value === null ? whole : String(value);
  });
}

export const firstName = (name: string) => name.trim().split(/\s+/)[0] ?? '';
