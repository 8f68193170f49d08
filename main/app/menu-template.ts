import type { MenuItemConstructorOptions } from 'electron';

/** The app's menu: copy and paste (Edit roles, so the keyboard shortcuts work) and Quit. Nothing that reloads or opens tools. */
export function menuTemplate(platform: NodeJS.Platform, appName: string): MenuItemConstructorOptions[] {
  const edit: MenuItemConstructorOptions = {
    label: 'Edit',
    submenu: [
      { role: 'undo' },
      { role: 'redo' },
      { type: 'separator' },
      { role: 'cut' },
      { role: 'copy' },
      { role: 'paste' },
      { role: 'selectAll' },
    ],
  };
  if (platform === 'darwin') {
    return [{ label: appName, submenu: [{ role: 'about' }, { type: 'separator' }, { role: 'quit' }] }, edit];
  }
  return [{ label: 'File', submenu: [{ role: 'quit' }] }, edit];
}
