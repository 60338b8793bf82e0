import { describe, expect, it } from 'vitest';
import { data } from '../../commands/trending.js';

interface OptionJson {
  name: string;
  type: number;
  required?: boolean;
  options?: OptionJson[];
  autocomplete?: boolean;
}

describe('/trending command definition', () => {
  const json = data.toJSON() as { name: string; options: OptionJson[]; default_member_permissions?: string | null };
  const subcommand = (name: string) => json.options.find((option) => option.name === name)!;
  const shape = (name: string) =>
    subcommand(name).options?.map((option) => `${option.name}${option.required ? '' : '?'}`) ?? [];

  it('given the issue contract, it should offer now, subscribe, unsubscribe and status with their options', () => {
    expect(json.name).toBe('trending');
    expect(json.options.map((option) => option.name)).toEqual(['now', 'subscribe', 'unsubscribe', 'status']);
    expect(shape('now')).toEqual(['date?']);
    expect(shape('subscribe')).toEqual(['channel', 'time', 'timezone', 'topics?', 'exclude?', 'count?', 'thread?']);
    expect(shape('unsubscribe')).toEqual(['channel?']);
    expect(shape('status')).toEqual([]);
    expect(subcommand('subscribe').options!.find((option) => option.name === 'timezone')!.autocomplete).toBe(true);
  });

  it('given /trending now is for everyone, it should not hide the command behind a default permission', () => {
    expect(json.default_member_permissions ?? null).toBeNull();
  });
});
