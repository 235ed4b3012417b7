/**
 * Name, label and annotation rules of Kubernetes (`apimachinery/pkg/util/validation`), with the
 * same wording, so a rejected name reads as it would against a real cluster.
 */
import { type FieldCause, invalid, required, tooLong } from './field-errors.ts';

const dns1123LabelFormat = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const dns1123SubdomainFormat = `${dns1123LabelFormat}(\\.${dns1123LabelFormat})*`;
const dns1035LabelFormat = '[a-z]([-a-z0-9]*[a-z0-9])?';
const qualifiedNameFormat = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const labelValueFormat = `(${qualifiedNameFormat})?`;

const dns1123Label = new RegExp(`^${dns1123LabelFormat}$`);
const dns1123Subdomain = new RegExp(`^${dns1123SubdomainFormat}$`);
const dns1035Label = new RegExp(`^${dns1035LabelFormat}$`);
const qualifiedName = new RegExp(`^${qualifiedNameFormat}$`);
const labelValue = new RegExp(`^${labelValueFormat}$`);
const ianaServiceName = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Returns the problems with a value as Kubernetes detail strings; empty when valid. */
export type NameRule = (value: string) => string[];

function maxLength(value: string, max: number): string[] {
  return value.length > max ? [`must be no more than ${max} characters`] : [];
}

export const isDns1123Label: NameRule = (value) => [
  ...maxLength(value, 63),
  ...(dns1123Label.test(value)
    ? []
    : [
        `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '${dns1123LabelFormat}')`,
      ]),
];

export const isDns1123Subdomain: NameRule = (value) => [
  ...maxLength(value, 253),
  ...(dns1123Subdomain.test(value)
    ? []
    : [
        `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '${dns1123SubdomainFormat}')`,
      ]),
];

export const isDns1035Label: NameRule = (value) => [
  ...maxLength(value, 63),
  ...(dns1035Label.test(value)
    ? []
    : [
        `a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '${dns1035LabelFormat}')`,
      ]),
];

/** Label and annotation keys: an optional DNS subdomain prefix, a slash, and a name part. */
export const isQualifiedName: NameRule = (value) => {
  const parts = value.split('/');
  if (parts.length > 2) {
    return [
      `a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '${qualifiedNameFormat}') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  const [prefix, name] = parts.length === 2 ? [parts[0] ?? '', parts[1] ?? ''] : [undefined, parts[0] ?? ''];
  const problems: string[] = [];
  if (prefix !== undefined) {
    if (prefix.length === 0) problems.push('prefix part must be non-empty');
    else problems.push(...isDns1123Subdomain(prefix).map((p) => `prefix part ${p}`));
  }
  if (name.length === 0) problems.push('name part must be non-empty');
  else {
    if (name.length > 63) problems.push('name part must be no more than 63 characters');
    if (!qualifiedName.test(name)) {
      problems.push(
        `name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '${qualifiedNameFormat}')`,
      );
    }
  }
  return problems;
};

export const isLabelValue: NameRule = (value) => [
  ...maxLength(value, 63),
  ...(labelValue.test(value)
    ? []
    : [
        `a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '${labelValueFormat}')`,
      ]),
];

/** Port names (IANA_SVC_NAME). */
export const isPortName: NameRule = (value) => {
  const problems: string[] = [];
  if (value.length > 15) problems.push('must be no more than 15 characters');
  if (!ianaServiceName.test(value)) problems.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (value.includes('--')) problems.push('must not contain consecutive hyphens');
  if (!/[a-z]/.test(value)) problems.push('must contain at least one letter (a-z)');
  return problems;
};

/** Config map and secret keys. */
export const isConfigMapKey: NameRule = (value) => {
  const problems = maxLength(value, 253);
  if (!/^[-._a-zA-Z0-9]+$/.test(value))
    problems.push(
      "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    );
  if (value === '.' || value === '..') problems.push(`must not be '${value}'`);
  else if (value.startsWith('..')) problems.push("must not start with '..'");
  return problems;
};

export function checkName(field: string, value: string, rule: NameRule): FieldCause[] {
  return rule(value).map((detail) => invalid(field, value, detail));
}

export function checkLabels(field: string, labels: Readonly<Record<string, string>> | undefined): FieldCause[] {
  if (!labels) return [];
  return Object.entries(labels).flatMap(([k, v]) => [...checkName(field, k, isQualifiedName), ...checkName(field, v, isLabelValue)]);
}

/** Kubernetes caps the total size of all annotations of an object at 256 KiB. */
export const totalAnnotationSizeLimit = 256 * 1024;

export function checkAnnotations(field: string, annotations: Readonly<Record<string, string>> | undefined): FieldCause[] {
  if (!annotations) return [];
  const causes = Object.keys(annotations).flatMap((k) => checkName(field, k.toLowerCase(), isQualifiedName));
  const size = Object.entries(annotations).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  if (size > totalAnnotationSizeLimit) causes.push(tooLong(field, totalAnnotationSizeLimit));
  return causes;
}

export function checkRequiredName(field: string, value: string | undefined): FieldCause[] {
  return value ? [] : [required(field)];
}

/** HTTP header names (`IsHTTPHeaderName`): the names a probe may send. */
export const isHttpHeaderName: NameRule = (value) =>
  /^[-A-Za-z0-9]+$/.test(value)
    ? []
    : ["a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')"];

/** HTTP header values: no control characters but tab, so a value cannot end the header early. */
export const isHttpHeaderValue: NameRule = (value) =>
  /[\u0000-\u0008\u000a-\u001f\u007f]/.test(value) ? ['a valid HTTP header value must not contain control characters other than tab'] : [];

const ipv4Literal = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const hostnameFormat = /^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$/;

/** A host a probe connects to: an IPv4 or IPv6 literal, or a DNS name. */
export const isNetworkHost: NameRule = (value) => {
  if (ipv4Literal.test(value) || hostnameFormat.test(value)) return maxLength(value, 253);
  if (/^[0-9A-Fa-f:.]+$/.test(value) && value.includes(':')) return [];
  return ['must be an IP address or a DNS name (e.g. "10.1.2.3" or "example.com")'];
};

/** An HTTP request path: no spaces or control characters (they would end the request line). */
export const isHttpPath: NameRule = (value) =>
  /[^\u0021-\u00ff]/.test(value) ? ['must not contain spaces, control characters or characters beyond Latin-1; percent-encode them'] : [];

/**
 * Names that must only be usable as one URL path segment (`path.IsValidPathSegmentName`): what
 * RBAC objects are named by, so `system:node` and `edit` are both valid.
 */
export const isPathSegmentName: NameRule = (value) => {
  if (value === '.' || value === '..') return [`may not be '${value}'`];
  const problems: string[] = [];
  if (value.includes('/')) problems.push("may not contain '/'");
  if (value.includes('%')) problems.push("may not contain '%'");
  return problems;
};
