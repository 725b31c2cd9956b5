/** Small inline SVG icons (no icon font, nothing fetched; the CSP allows only our own files). */
const common = { width: 16, height: 16, viewBox: '0 0 24 24', fill: 'none', stroke: 'currentColor', strokeWidth: 1.8, strokeLinecap: 'round' as const, strokeLinejoin: 'round' as const, 'aria-hidden': true };

export const FolderIcon = () => (
  <svg {...common}><path d="M3 7a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z" fill="currentColor" fillOpacity=".15" /></svg>
);
export const FileIcon = () => (
  <svg {...common}><path d="M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z" /><path d="M14 3v5h5" /></svg>
);
export const LockIcon = ({ open }: { open?: boolean }) => (
  <svg {...common}><rect x="4" y="11" width="16" height="10" rx="2" /><path d={open ? 'M8 11V7a4 4 0 0 1 7.5-2' : 'M8 11V7a4 4 0 0 1 8 0v4'} /></svg>
);
export const UpIcon = () => (
  <svg {...common}><path d="M9 14l-4-4 4-4" /><path d="M5 10h9a5 5 0 0 1 5 5v4" /></svg>
);
