/**
 * Masking of personal data for officers whose role does not allow it (RequestScope.personalData).
 * The shapes follow common Chinese practice: a name keeps its first character (张三 → 张*,
 * 欧阳娜娜 → 欧***), a mobile number keeps its first 3 and last 4 digits (138****1234).
 */
export function maskName(name: string): string {
  const chars = [...name.trim()];
  if (chars.length === 0) return '';
  return chars[0] + '*'.repeat(Math.max(1, chars.length - 1));
}

export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  if (digits.length < 7) return '*'.repeat(digits.length);
  return `${digits.slice(0, 3)}${'*'.repeat(digits.length - 7)}${digits.slice(-4)}`;
}
